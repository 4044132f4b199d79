package instance

import (
	"context"

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
	inst.Node = m.localNode()
	_, err := m.db.CreateInstance(ctx, inst)
	return err
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
	out := list[:0]
	for _, inst := range list {
		if inst.Node == node || inst.Node == "" {
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
	inst, err := m.db.GetInstance(ctx, name)
	if err != nil {
		return false, err
	}
	return inst.Node == node || inst.Node == "", nil
}
