package lab

import (
	"errors"
	"testing"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

// TestCaptureTarget: a link by name is its first end; NODE:IFACE must be a nic or a link
// end that the file gives the node; anything else fails with its kind.
func TestCaptureTarget(t *testing.T) {
	l, err := labfile.Parse("lab.yaml", []byte(`name: t
networks:
  front: {ipv4: 10.20.1.1/24}
nodes:
  a: {nics: {eth0: {network: front}}}
  b: {}
links:
  - endpoints: [a:eth1, b:eth3]
`), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		target, node, iface string
		kind                error
	}{
		{"a:eth1-b:eth3", "a", "eth1", nil},
		{"a:eth0", "a", "eth0", nil},
		{"b:eth3", "b", "eth3", nil},
		{"b:eth0", "", "", api.ErrNotFound},
		{"c:eth0", "", "", api.ErrNotFound},
		{"a", "", "", api.ErrInvalid},
		{":eth0", "", "", api.ErrInvalid},
		{"b:eth3-a:eth1", "", "", api.ErrNotFound},
	} {
		node, iface, err := captureTarget(l, c.target)
		if node != c.node || iface != c.iface || !errors.Is(err, c.kind) || (c.kind == nil) != (err == nil) {
			t.Errorf("captureTarget(%q) = %q, %q, %v; want %q, %q, %v", c.target, node, iface, err, c.node, c.iface, c.kind)
		}
	}
}
