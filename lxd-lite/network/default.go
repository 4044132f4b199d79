package network

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"lite/client/api"
)

// defaultKey records in the daemon config that the default network was set up once, so a
// user who deletes it later does not get it back on the next start.
const defaultKey = "lite.default_network"

// EnsureDefault creates the default network (automatic subnet, ipv4.nat as given) the first
// time lited starts on a state dir, and puts eth0 on it in the default profile.
func (m *Manager) EnsureDefault(ctx context.Context, name string, nat bool) error {
	done, err := m.o.DB.GetConfig(ctx, defaultKey)
	if err != nil || done != "" {
		return err
	}
	if _, err := m.o.DB.GetNetwork(ctx, name); err != nil {
		if !errorsIsNotFound(err) {
			return err
		}
		req := api.NetworksPost{Name: name, Type: "bridge", NetworkPut: api.NetworkPut{
			Description: "Default lite network",
			Config:      map[string]string{"ipv4.address": "auto", "ipv4.nat": fmt.Sprint(nat)},
		}}
		if err := m.Create(ctx, req); err != nil {
			return fmt.Errorf("create default network %s: %w", name, err)
		}
		m.o.Log.Info("created the default network", "network", name)
	}
	if err := m.o.DB.SetProfileDevice(ctx, "default", "eth0", map[string]string{"type": "nic", "network": name, "name": "eth0"}); err != nil {
		return err
	}
	return m.o.DB.SetConfig(ctx, defaultKey, name)
}

// TableFor names lite's nftables table for a state dir: "lite" for the standard one, and
// one of its own for any other, so test daemons never touch a real user's rules.
func TableFor(dir string) string {
	if filepath.Clean(dir) == "/var/lib/lite" {
		return "lite"
	}
	sum := sha256.Sum256([]byte(filepath.Clean(dir)))
	return "lite_" + hex.EncodeToString(sum[:4])
}
