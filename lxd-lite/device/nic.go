// Package device holds lited's device handlers beyond the root disk: nic (a veth on a
// managed network or a host bridge) and proxy (a host port forwarded into the container).
package device

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/netip"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/netutil"
	"lite/lxd-lite/network"
)

// Networks is what nics need of the network manager.
type Networks interface {
	Attach(ctx context.Context, name string) (network.Attachment, error)
	CheckAddress(ctx context.Context, network, inst, addr string) error
	SetHost(ctx context.Context, network string, h network.Host) error
	Reserve(ctx context.Context, network string, h network.Host) (netip.Addr, error)
	Release(ctx context.Context, network, mac string) error
	FilterNIC(ctx context.Context, f network.NICFilter) error
	UnfilterNIC(ctx context.Context, host string) error
}

// NIC handles devices of type nic: network=NAME (a managed network) or nictype=bridged with
// parent=BRIDGE (any host bridge).
type NIC struct {
	Networks Networks
	Log      *slog.Logger
}

// Validate checks a nic against the host: the network exists, a fixed address is free.
func (h *NIC) Validate(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string) error {
	inst := dc.Name
	if net := dev["network"]; net != "" {
		if dev["nictype"] != "" || dev["parent"] != "" {
			return fmt.Errorf("device %q: network= cannot be combined with nictype or parent: %w", name, api.ErrInvalid)
		}
		if _, err := h.Networks.Attach(ctx, net); err != nil {
			return fmt.Errorf("device %q: %w", name, err)
		}
		if a := dev["ipv4.address"]; a != "" {
			if err := h.Networks.CheckAddress(ctx, net, inst, a); err != nil {
				return fmt.Errorf("device %q: %w", name, err)
			}
		}
		return nil
	}
	if dev["nictype"] != "bridged" || dev["parent"] == "" {
		return fmt.Errorf("device %q: a nic needs network=NAME, or nictype=bridged and parent=BRIDGE: %w", name, api.ErrInvalid)
	}
	if dev["ipv4.address"] != "" {
		return fmt.Errorf("device %q: ipv4.address needs a managed network (network=NAME): %w", name, api.ErrInvalid)
	}
	return nil
}

// Start adds the veth to the run spec with a stable MAC and host-side name (kept in
// volatile.<dev>.hwaddr and volatile.<dev>.host_name), and registers the nic with the
// network's dnsmasq: its name for DNS and its fixed address, if any.
func (h *NIC) Start(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string, spec *instance.RunSpec) (func(), error) {
	if err := h.Validate(ctx, dc, name, dev); err != nil {
		return nil, err
	}
	nic := instance.NIC{Name: dev["name"]}
	if nic.Name == "" {
		nic.Name = name
	}
	if net := dev["network"]; net != "" {
		at, err := h.Networks.Attach(ctx, net)
		if err != nil {
			return nil, err
		}
		nic.Bridge, nic.MTU = at.Bridge, at.MTU
	} else {
		ok, err := netutil.IsBridge(dev["parent"])
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("device %q: parent %q is not a bridge on this host: %w", name, dev["parent"], api.ErrInvalid)
		}
		nic.Bridge = dev["parent"]
	}
	if m := dev["mtu"]; m != "" {
		fmt.Sscan(m, &nic.MTU)
	}
	vol := map[string]string{}
	nic.Hwaddr = firstOf(dev["hwaddr"], dc.Config["volatile."+name+".hwaddr"])
	if nic.Hwaddr == "" {
		nic.Hwaddr = randomMAC()
		vol["volatile."+name+".hwaddr"] = nic.Hwaddr
	}
	nic.HostName = firstOf(dev["host_name"], dc.Config["volatile."+name+".host_name"])
	if nic.HostName == "" {
		nic.HostName = "veth" + randomHex(4)
		vol["volatile."+name+".host_name"] = nic.HostName
	}
	if len(vol) > 0 {
		if err := dc.SetVolatile(vol); err != nil {
			return nil, err
		}
	}
	// The container is not running, so a link of that name is what a crash left behind.
	if err := netutil.DeleteLink(nic.HostName); err != nil {
		return nil, err
	}
	ip, err := h.register(ctx, dc.Name, dev, nic.Hwaddr)
	if err != nil {
		return nil, err
	}
	// The reserved address goes into the database too: in a cluster, the other members check
	// new addresses against it and answer DNS queries for the instance with it.
	if key := network.ReservedKey(name); dev["ipv4.address"] == "" && ip.IsValid() && dc.Config[key] != ip.String() {
		if err := dc.SetVolatile(map[string]string{key: ip.String()}); err != nil {
			return nil, err
		}
	}
	if err := h.filter(ctx, dev, nic, ip); err != nil {
		return nil, err
	}
	undo := func() {
		if err := h.Networks.UnfilterNIC(context.Background(), nic.HostName); err != nil {
			h.Log.Warn("undo nic filter", "instance", dc.Name, "device", name, "err", err)
		}
	}
	spec.NICs = append(spec.NICs, nic)
	return undo, nil
}

// managedNetwork names the managed network a nic joins: network=NAME, or a bridged nic whose
// parent is a managed network's bridge ("" for any other bridge).
func (h *NIC) managedNetwork(ctx context.Context, dev map[string]string) string {
	if net := dev["network"]; net != "" {
		return net
	}
	if p := dev["parent"]; p != "" {
		if _, err := h.Networks.Attach(ctx, p); err == nil {
			return p
		}
	}
	return ""
}

// register records the nic with its managed network's dnsmasq, which serves only MACs it
// knows: its name for DNS, and its address: the fixed one, or, with IPv4 filtering, one
// reserved for it for good. It returns the address the nic may send from (invalid: unknown).
func (h *NIC) register(ctx context.Context, inst string, dev map[string]string, mac string) (netip.Addr, error) {
	net := h.managedNetwork(ctx, dev)
	if net == "" {
		return netip.Addr{}, nil
	}
	host := network.Host{MAC: mac, Name: inst}
	if a := dev["ipv4.address"]; a != "" {
		host.IP = netip.MustParseAddr(a) // checked by Validate
		return host.IP, h.Networks.SetHost(ctx, net, host)
	}
	if _, ipv4 := network.FilteringOf(dev); ipv4 {
		return h.Networks.Reserve(ctx, net, host)
	}
	return netip.Addr{}, h.Networks.SetHost(ctx, net, host)
}

// filter installs the nic's source filter on the host end of its veth (security.mac_filtering,
// security.ipv4_filtering: both on unless set to false), or removes a stale one.
func (h *NIC) filter(ctx context.Context, dev map[string]string, nic instance.NIC, ip netip.Addr) error {
	macOn, ipv4On := network.FilteringOf(dev)
	f := network.NICFilter{HostName: nic.HostName}
	if macOn {
		f.MAC = nic.Hwaddr
	}
	if ipv4On {
		f.IPv4 = ip
	}
	if f.MAC == "" && !f.IPv4.IsValid() {
		return h.Networks.UnfilterNIC(ctx, nic.HostName)
	}
	return h.Networks.FilterNIC(ctx, f)
}

// Stop removes the host end of the veth if liblxc left it (it normally goes with the
// container's namespace).
func (h *NIC) Stop(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string) error {
	host := firstOf(dev["host_name"], dc.Config["volatile."+name+".host_name"])
	if host == "" {
		return nil
	}
	if err := netutil.DeleteLink(host); err != nil {
		return err
	}
	return h.Networks.UnfilterNIC(ctx, host)
}

// Remove frees the nic's lease, reservation and DNS name when its instance is deleted.
func (h *NIC) Remove(ctx context.Context, dc instance.DeviceContext, name string, dev map[string]string) error {
	mac := firstOf(dev["hwaddr"], dc.Config["volatile."+name+".hwaddr"])
	net := h.managedNetwork(ctx, dev)
	if net == "" || mac == "" {
		return nil
	}
	return h.Networks.Release(ctx, net, mac)
}

// randomMAC returns a MAC in the 00:16:3e prefix LXD uses for its containers.
func randomMAC() string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return fmt.Sprintf("00:16:3e:%02x:%02x:%02x", b[0], b[1], b[2])
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}
