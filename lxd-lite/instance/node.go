package instance

import (
	"context"
	"fmt"

	"lite/db"
)

// localNode is this cluster member's name; "" on a single host.
func (m *core) localNode() string {
	if m.node == nil {
		return ""
	}
	return m.node()
}

// createRow inserts an instance row placed on this member. In a cluster the row is shared:
// its node says which member's runtime and storage hold the instance.
func (m *core) createRow(ctx context.Context, inst db.Instance) error {
	if _, err := m.db.CreateInstance(ctx, inst); err != nil {
		return err
	}
	node := m.localNode()
	if node == "" {
		return nil
	}
	if err := m.db.SetInstanceNode(ctx, inst.Name, node); err != nil {
		if derr := m.db.DeleteInstance(context.WithoutCancel(ctx), inst.Name); derr != nil {
			m.log.Error("revert: remove instance row", "instance", inst.Name, "err", derr)
		}
		return fmt.Errorf("instance %q: %w", inst.Name, err)
	}
	return nil
}

// localInstances lists the instances that live on this member: every instance on a single
// host. Loops that touch the runtime or storage (autostart, snapshot schedule, recovery,
// lxcfs) walk only these; another member's rows are that member's to handle.
func (m *core) localInstances(ctx context.Context) ([]db.Instance, error) {
	list, err := m.db.ListInstances(ctx)
	node := m.localNode()
	if err != nil || node == "" {
		return list, err
	}
	nodes, err := m.db.InstanceNodes(ctx)
	if err != nil {
		return nil, err
	}
	out := list[:0]
	for _, inst := range list {
		if n := nodes[inst.Name]; n == node || n == "" {
			out = append(out, inst)
		}
	}
	return out, nil
}

// isLocal reports whether the named instance's row places it on this member.
func (m *core) isLocal(ctx context.Context, name string) (bool, error) {
	node := m.localNode()
	if node == "" {
		return true, nil
	}
	n, err := m.db.InstanceNode(ctx, name)
	if err != nil {
		return false, err
	}
	return n == node || n == "", nil
}
