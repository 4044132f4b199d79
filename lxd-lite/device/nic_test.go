package device

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"regexp"
	"testing"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/network"
)

// fakeNets is one managed network "lab" (10.9.9.1/24, MTU 1400) that records host entries.
type fakeNets struct {
	hosts    []network.Host
	released []string
	filters  map[string]network.NICFilter // by host interface
}

func (f *fakeNets) Attach(_ context.Context, name string) (network.Attachment, error) {
	if name != "lab" {
		return network.Attachment{}, fmt.Errorf("network %q: %w", name, api.ErrNotFound)
	}
	return network.Attachment{Bridge: "lab", MTU: 1400, Subnet: netip.MustParsePrefix("10.9.9.1/24"), Domain: "lite"}, nil
}

func (f *fakeNets) CheckAddress(_ context.Context, _, _, addr string) error {
	if addr == "10.9.9.1" {
		return fmt.Errorf("gateway: %w", api.ErrInvalid)
	}
	return nil
}

func (f *fakeNets) SetHost(_ context.Context, _ string, h network.Host) error {
	f.hosts = append(f.hosts, h)
	return nil
}

func (f *fakeNets) Reserve(_ context.Context, _ string, h network.Host) (netip.Addr, error) {
	h.IP = netip.MustParseAddr("10.9.9.2")
	f.hosts = append(f.hosts, h)
	return h.IP, nil
}

func (f *fakeNets) FilterNIC(_ context.Context, nf network.NICFilter) error {
	if f.filters == nil {
		f.filters = map[string]network.NICFilter{}
	}
	f.filters[nf.HostName] = nf
	return nil
}

func (f *fakeNets) UnfilterNIC(_ context.Context, host string) error {
	delete(f.filters, host)
	return nil
}

func (f *fakeNets) Release(_ context.Context, net, mac string) error {
	f.released = append(f.released, net+"/"+mac)
	return nil
}

func TestNICStartKeepsIdentity(t *testing.T) {
	nets := &fakeNets{}
	h := &NIC{Networks: nets}
	vol := map[string]string{}
	dc := instance.DeviceContext{Name: "web1", Config: map[string]string{}, SetVolatile: func(kv map[string]string) error {
		for k, v := range kv {
			vol[k] = v
		}
		return nil
	}}
	dev := map[string]string{"type": "nic", "network": "lab", "name": "eth0", "ipv4.address": "10.9.9.50"}
	var spec instance.RunSpec
	if _, err := h.Start(context.Background(), dc, "eth0", dev, &spec); err != nil {
		t.Fatal(err)
	}
	mac, host := vol["volatile.eth0.hwaddr"], vol["volatile.eth0.host_name"]
	if !regexp.MustCompile(`^00:16:3e(:[0-9a-f]{2}){3}$`).MatchString(mac) || !regexp.MustCompile(`^veth[0-9a-f]{8}$`).MatchString(host) {
		t.Fatalf("volatile = %v", vol)
	}
	want := instance.NIC{Name: "eth0", HostName: host, Bridge: "lab", Hwaddr: mac, MTU: 1400}
	if len(spec.NICs) != 1 || spec.NICs[0] != want {
		t.Errorf("spec.NICs = %+v, want %+v", spec.NICs, want)
	}
	if len(nets.hosts) != 1 || nets.hosts[0] != (network.Host{MAC: mac, IP: netip.MustParseAddr("10.9.9.50"), Name: "web1"}) {
		t.Errorf("hosts = %+v", nets.hosts)
	}
	if f := nets.filters[host]; f != (network.NICFilter{HostName: host, MAC: mac, IPv4: netip.MustParseAddr("10.9.9.50")}) {
		t.Errorf("filter = %+v, want the nic's MAC and fixed address", f)
	}

	// The next start reuses the stored identity and records nothing new.
	dc.Config = map[string]string{"volatile.eth0.hwaddr": mac, "volatile.eth0.host_name": host}
	vol = map[string]string{}
	spec = instance.RunSpec{}
	if _, err := h.Start(context.Background(), dc, "eth0", dev, &spec); err != nil {
		t.Fatal(err)
	}
	if len(vol) != 0 || spec.NICs[0].Hwaddr != mac || spec.NICs[0].HostName != host {
		t.Errorf("second start: volatile %v, nic %+v", vol, spec.NICs[0])
	}
	if err := h.Stop(context.Background(), dc, "eth0", dev); err != nil || len(nets.filters) != 0 {
		t.Errorf("stop: %v, filters left %v", err, nets.filters)
	}
	if err := h.Remove(context.Background(), dc, "eth0", dev); err != nil || len(nets.released) != 1 || nets.released[0] != "lab/"+mac {
		t.Errorf("remove: %v, released %v", err, nets.released)
	}
}

// TestNICFilteringKeys: a dynamic nic gets a reserved address in its filter; each key turns
// its half off; a bridged nic on a foreign bridge is MAC-filtered only.
func TestNICFilteringKeys(t *testing.T) {
	dc := instance.DeviceContext{Name: "c", Config: map[string]string{"volatile.eth0.hwaddr": "00:16:3e:00:00:01", "volatile.eth0.host_name": "vethf1"}}
	mac, reserved := "00:16:3e:00:00:01", netip.MustParseAddr("10.9.9.2")
	for _, c := range []struct {
		dev  map[string]string
		want network.NICFilter
	}{
		{map[string]string{"network": "lab"}, network.NICFilter{HostName: "vethf1", MAC: mac, IPv4: reserved}},
		{map[string]string{"network": "lab", "security.ipv4_filtering": "false"}, network.NICFilter{HostName: "vethf1", MAC: mac}},
		{map[string]string{"network": "lab", "security.mac_filtering": "false"}, network.NICFilter{HostName: "vethf1", IPv4: reserved}},
		{map[string]string{"network": "lab", "security.mac_filtering": "false", "security.ipv4_filtering": "false"}, network.NICFilter{}},
	} {
		nets := &fakeNets{filters: map[string]network.NICFilter{"vethf1": {HostName: "stale"}}}
		h := &NIC{Networks: nets}
		c.dev["type"] = "nic"
		vol := map[string]string{}
		dc.SetVolatile = func(kv map[string]string) error { maps.Copy(vol, kv); return nil }
		var spec instance.RunSpec
		if _, err := h.Start(context.Background(), dc, "eth0", c.dev, &spec); err != nil {
			t.Fatal(err)
		}
		if got := nets.filters["vethf1"]; got != c.want {
			t.Errorf("%v: filter %+v, want %+v", c.dev, got, c.want)
		}
		// A reserved address is recorded in the database, where every member of a cluster sees it.
		if want := c.want.IPv4; want.IsValid() && vol["volatile.eth0.ipv4.address"] != want.String() {
			t.Errorf("%v: volatile %v, want the reserved address recorded", c.dev, vol)
		} else if !want.IsValid() && len(vol) != 0 {
			t.Errorf("%v: volatile %v, want nothing recorded", c.dev, vol)
		}
	}
}

func TestNICValidate(t *testing.T) {
	h := &NIC{Networks: &fakeNets{}}
	for _, c := range []struct {
		dev  map[string]string
		kind error
	}{
		{map[string]string{"network": "nope"}, api.ErrNotFound},
		{map[string]string{"network": "lab", "ipv4.address": "10.9.9.1"}, api.ErrInvalid},
		{map[string]string{"network": "lab", "parent": "br0"}, api.ErrInvalid},
		{map[string]string{"nictype": "bridged"}, api.ErrInvalid},
		{map[string]string{}, api.ErrInvalid},
		{map[string]string{"nictype": "bridged", "parent": "br0", "ipv4.address": "10.0.0.5"}, api.ErrInvalid},
	} {
		if err := h.Validate(context.Background(), instance.DeviceContext{Name: "c"}, "eth0", c.dev); !errors.Is(err, c.kind) {
			t.Errorf("Validate(%v) = %v, want %v", c.dev, err, c.kind)
		}
	}
	if err := h.Validate(context.Background(), instance.DeviceContext{Name: "c"}, "eth0", map[string]string{"nictype": "bridged", "parent": "br0"}); err != nil {
		t.Error(err)
	}
}
