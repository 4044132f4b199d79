package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/device"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/network"
)

// DefaultNetworkName is the network lited makes on its first start.
const DefaultNetworkName = "litebr0"

// startNetworks brings the managed networks up (adopting what a previous lited left running)
// and makes the default network on the first start.
func startNetworks(ctx context.Context, o Options, dir string, database *db.DB) (*network.Manager, error) {
	table := o.NFTTable
	if table == "" {
		table = network.TableFor(dir)
	}
	nets := network.New(network.Options{
		DB: database, Dir: filepath.Join(dir, "networks"), Firewall: network.NewFirewall(table),
		Log: o.Log, DefaultNAT: o.DefaultNAT,
	})
	if err := nets.Restore(ctx); err != nil {
		return nil, fmt.Errorf("restore networks: %w", err)
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
