package netutil

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/vishvananda/netlink"

	"lite/client/api"
)

// TestVXLANInNetns: a tunnel port is made, adopted when it matches, made again when the
// kernel cannot change what differs; its remotes follow the list; bad input is refused.
func TestVXLANInNetns(t *testing.T) {
	inThrowawayNetns(t, func() {
		if _, err := EnsureBridge("ltbr-vx", 1450); err != nil {
			t.Fatal(err)
		}
		v := VXLAN{Name: "ltvx-test", Bridge: "ltbr-vx", VNI: 42, Local: netip.MustParseAddr("192.0.2.1"), Port: 4789, MTU: 1450}
		if created, err := EnsureVXLAN(v); err != nil || !created {
			t.Fatalf("EnsureVXLAN = %v, %v", created, err)
		}
		l, err := netlink.LinkByName("ltvx-test")
		if err != nil {
			t.Fatal(err)
		}
		vx := l.(*netlink.Vxlan)
		br, _ := netlink.LinkByName("ltbr-vx")
		if vx.VxlanId != 42 || vx.Port != 4789 || vx.Learning || vx.MTU != 1450 || vx.MasterIndex != br.Attrs().Index ||
			!vx.SrcAddr.Equal(net.ParseIP("192.0.2.1")) || vx.Attrs().Flags&net.FlagUp == 0 {
			t.Errorf("vxlan = %+v", vx)
		}
		if created, err := EnsureVXLAN(v); err != nil || created {
			t.Errorf("same tunnel again = %v, %v; want adopted", created, err)
		}
		v.Port = 8472
		if created, err := EnsureVXLAN(v); err != nil || !created {
			t.Errorf("other port = %v, %v; want made again", created, err)
		}

		a, b, c := netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3"), netip.MustParseAddr("192.0.2.4")
		for _, want := range [][]netip.Addr{{a, b}, {b, c}, {}, {a}} {
			if err := SetRemotes("ltvx-test", want); err != nil {
				t.Fatal(err)
			}
			got, err := Remotes("ltvx-test")
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("remotes = %v, %v; want %v", got, err, want)
			}
		}
		if err := SetRemotes("ltvx-test", []netip.Addr{netip.MustParseAddr("fd00::1")}); !errors.Is(err, api.ErrInvalid) {
			t.Errorf("IPv6 remote: %v", err)
		}

		for _, bad := range []VXLAN{
			{Name: "ltvx-bad", Bridge: "ltbr-vx", VNI: 0, Local: v.Local, Port: 4789},
			{Name: "ltvx-bad", Bridge: "ltbr-vx", VNI: 1 << 24, Local: v.Local, Port: 4789},
			{Name: "ltvx-bad", Bridge: "ltbr-vx", VNI: 1, Local: v.Local, Port: 0},
			{Name: "ltvx-bad", Bridge: "ltbr-vx", VNI: 1, Local: netip.MustParseAddr("fd00::1"), Port: 4789},
			{Name: "a/b", Bridge: "ltbr-vx", VNI: 1, Local: v.Local, Port: 4789},
		} {
			if _, err := EnsureVXLAN(bad); !errors.Is(err, api.ErrInvalid) {
				t.Errorf("EnsureVXLAN(%+v) = %v, want ErrInvalid", bad, err)
			}
		}
		// A link of that name that is no vxlan is never taken over.
		if _, err := EnsureVXLAN(VXLAN{Name: "ltbr-vx", Bridge: "ltbr-vx", VNI: 1, Local: v.Local, Port: 4789}); !errors.Is(err, api.ErrAlreadyExists) {
			t.Errorf("bridge in the way: %v", err)
		}
		if ok, _ := LinkExists("ltvx-bad"); ok {
			t.Error("a refused tunnel was made")
		}
	})
}
