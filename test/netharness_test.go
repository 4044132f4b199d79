package test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The bridges and nftables tables this run's daemons and tests made; the final check fails
// the run if any is still there.
var (
	netMu      sync.Mutex
	suiteNets  []string
	suiteTabls []string
)

// newNetNames returns a fresh default network name (a bridge name, at most 15 characters)
// and nftables table name for one daemon.
func newNetNames() (string, string) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	trackNetwork("ltn" + h)
	netMu.Lock()
	suiteTabls = append(suiteTabls, "lite_e2e_"+h)
	netMu.Unlock()
	return "ltn" + h, "lite_e2e_" + h
}

// trackNetwork adds a network (bridge) name a test creates to the final leftover check.
func trackNetwork(name string) {
	netMu.Lock()
	defer netMu.Unlock()
	suiteNets = append(suiteNets, name)
}

// cleanNetworks removes, once lited is stopped, the host side of the daemon's networks:
// dnsmasq, bridge, nft table. The default network is expected; any other is reported.
func (d *Daemon) cleanNetworks() []string {
	var msgs []string
	entries, _ := os.ReadDir(filepath.Join(d.Dir, "networks"))
	for _, e := range entries {
		if e.Name() != d.Net {
			msgs = append(msgs, "network left behind: "+e.Name())
		}
		pidFile := filepath.Join(d.Dir, "networks", e.Name(), "dnsmasq.pid")
		if b, err := os.ReadFile(pidFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
				if bytes.Contains(cmdline, []byte(d.Dir)) {
					_ = syscall.Kill(pid, syscall.SIGTERM)
					waitGone(pid)
				}
			}
		}
		// A cluster network's VXLAN tunnel outlives its bridge (deleting a bridge only frees
		// its ports): it goes too.
		for _, link := range []string{e.Name(), tunnelName(e.Name())} {
			if d.linkExists(link) {
				if out, err := d.command("ip", "link", "del", link).CombinedOutput(); err != nil {
					msgs = append(msgs, fmt.Sprintf("ip link del %s: %v: %s", link, err, bytes.TrimSpace(out)))
				}
			}
		}
	}
	// The inet table holds the forwarding rules, the bridge table of the same name the nic filters.
	for _, fam := range nftFamilies {
		if d.command("nft", "list", "table", fam, d.NFT).Run() == nil {
			if out, err := d.command("nft", "delete", "table", fam, d.NFT).CombinedOutput(); err != nil {
				msgs = append(msgs, fmt.Sprintf("nft delete table %s %s: %v: %s", fam, d.NFT, err, bytes.TrimSpace(out)))
			}
		}
	}
	return msgs
}

func waitGone(pid int) {
	for i := 0; i < 250; i++ {
		if err := syscall.Kill(pid, 0); err != nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// linkExists reports whether the link is in the daemon's network namespace.
func (d *Daemon) linkExists(name string) bool {
	if len(d.Prefix) == 0 {
		return linkExists(name)
	}
	return d.command("ip", "link", "show", "dev", name).Run() == nil
}

func linkExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}

// nftFamilies are the families of lited's nftables tables (one name for both).
var nftFamilies = []string{"inet", "bridge"}

func nftTableExists(family, table string) bool {
	return exec.Command("nft", "list", "table", family, table).Run() == nil
}

// networkLeftovers lists the bridges and nft tables of this run that still exist.
func networkLeftovers() []string {
	netMu.Lock()
	defer netMu.Unlock()
	var left []string
	for _, n := range suiteNets {
		if linkExists(n) {
			left = append(left, "bridge still exists: "+n)
		}
		if linkExists(tunnelName(n)) {
			left = append(left, "VXLAN tunnel of "+n+" still exists: "+tunnelName(n))
		}
	}
	for _, t := range suiteTabls {
		for _, fam := range nftFamilies {
			if nftTableExists(fam, t) {
				left = append(left, "nftables table still exists: "+fam+" "+t)
			}
		}
	}
	return left
}

// tunnelName is lited's name for the VXLAN device of a cluster network's bridge
// (network.TunnelName): "ltvx" and the first 4 bytes of the name's SHA-256, in hex.
func tunnelName(bridge string) string {
	sum := sha256.Sum256([]byte(bridge))
	return "ltvx" + hex.EncodeToString(sum[:4])
}
