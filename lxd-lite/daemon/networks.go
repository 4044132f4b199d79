package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/cluster"
	"lite/lxd-lite/device"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/network"
)

// DefaultNetworkName is the network lited makes on its first start.
const DefaultNetworkName = "litebr0"

// startNetworks brings the managed networks up (adopting what a previous lited left running)
// and makes the default network on the first start. In a cluster the networks join the other
// members' (see docs/cluster-network.md).
func startNetworks(ctx context.Context, o Options, dir string, database *db.DB, cl *cluster.Service) (*network.Manager, error) {
	table := o.NFTTable
	if table == "" {
		table = network.TableFor(dir)
	}
	nets := network.New(network.Options{
		DB: database, Dir: filepath.Join(dir, "networks"), Firewall: network.NewFirewall(table),
		Log: o.Log, DefaultNAT: o.DefaultNAT, Cluster: clusterPeers{cl},
	})
	if err := nets.Restore(ctx); err != nil {
		return nil, fmt.Errorf("restore networks: %w", err)
	}
	if err := nets.PruneNICs(ctx); err != nil {
		o.Log.Warn("nic filters of interfaces that are gone", "err", err)
	}
	name := o.DefaultNetwork
	if name == "" {
		name = DefaultNetworkName
	}
	if err := network.ValidateName(name); err != nil {
		return nil, fmt.Errorf("default network: %w", err)
	}
	if err := nets.EnsureDefault(ctx, name, o.DefaultNAT); err != nil {
		nets.Detach()
		return nil, err
	}
	return nets, nil
}

// clusterPeers shows the cluster to the networks: each member with the address its tunnels
// use, the host part of its URL.
type clusterPeers struct{ *cluster.Service }

// Members returns the members with their tunnel addresses.
func (p clusterPeers) Members(ctx context.Context) ([]network.Member, error) {
	list, err := p.Service.Members(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]network.Member, 0, len(list))
	for _, m := range list {
		a, err := network.MemberAddress(ctx, m.URL)
		if err != nil {
			return nil, fmt.Errorf("cluster member %s: %w", m.ServerName, err)
		}
		out = append(out, network.Member{Name: m.ServerName, Address: a})
	}
	return out, nil
}

// deviceHandlers are the device types lited serves, by type.
func deviceHandlers(nets *network.Manager, rt instance.Runtime, log *slog.Logger) map[string]instance.DeviceHandler {
	pid := func(ctx context.Context, name string) (int, error) {
		st, err := rt.State(ctx, name)
		if err != nil {
			return 0, err
		}
		if !st.Running {
			return 0, fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
		}
		return st.Pid, nil
	}
	return map[string]instance.DeviceHandler{
		"nic":   &device.NIC{Networks: nets, Log: log},
		"proxy": &device.Proxy{Pid: pid, Log: log},
	}
}
