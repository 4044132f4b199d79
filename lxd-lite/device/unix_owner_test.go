package device

import (
	"errors"
	"testing"

	"lite/client/api"
	"lite/lxd-lite/idmap"
)

// A unix device's uid/gid are container ids: shifted by the map, and refused when the map
// does not cover them (added to the base they would land in another container's range).
func TestUnixHostOwner(t *testing.T) {
	im := &idmap.Map{UID: 100000, GID: 200000, Size: idmap.Size}
	for _, c := range []struct {
		im       *idmap.Map
		uid, gid uint32
		hu, hg   uint32
		bad      bool
	}{
		{im, 0, 0, 100000, 200000, false},
		{im, 1000, 65535, 101000, 265535, false},
		{im, 65536, 0, 0, 0, true},
		{im, 0, 4294967295, 0, 0, true},
		{nil, 70000, 5, 70000, 5, false}, // privileged: host ids as given
	} {
		hu, hg, err := hostOwner(c.im, c.uid, c.gid)
		if c.bad {
			if !errors.Is(err, api.ErrInvalid) {
				t.Errorf("owner %d:%d: %d:%d, %v; want ErrInvalid", c.uid, c.gid, hu, hg, err)
			}
			continue
		}
		if err != nil || hu != c.hu || hg != c.hg {
			t.Errorf("owner %d:%d: %d:%d, %v; want %d:%d", c.uid, c.gid, hu, hg, err, c.hu, c.hg)
		}
	}
}
