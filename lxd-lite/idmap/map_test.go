package idmap

import (
	"errors"
	"math"
	"testing"
)

func TestToHost(t *testing.T) {
	m := Map{UID: 100000, GID: 200000, Size: Size}
	for _, c := range []struct {
		name string
		m    Map
		k    Kind
		id   int64
		want uint32
		err  bool
	}{
		{"root uid", m, User, 0, 100000, false},
		{"root gid", m, Group, 0, 200000, false},
		{"last uid", m, User, Size - 1, 100000 + Size - 1, false},
		{"past the map", m, User, Size, 0, true},
		{"negative", m, Group, -1, 0, true},
		{"too large", m, User, math.MaxUint32 + 1, 0, true},
		{"wraps", Map{UID: math.MaxUint32 - 10, GID: 1, Size: Size}, User, 20, 0, true},
		{"empty map", Map{UID: 1, GID: 1}, User, 0, 0, true},
		{"privileged keeps ids", Map{}, User, 70000, 70000, false},
		{"privileged negative", Map{}, User, -1, 0, true},
	} {
		got, err := c.m.ToHost(c.k, c.id)
		if c.err {
			if !errors.Is(err, ErrUnmapped) {
				t.Errorf("%s: ToHost(%d) = %d, %v; want ErrUnmapped", c.name, c.id, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: ToHost(%d) = %d, %v; want %d", c.name, c.id, got, err, c.want)
		}
	}
}

func TestToContainer(t *testing.T) {
	m := Map{UID: 100000, GID: 200000, Size: Size}
	for _, c := range []struct {
		name string
		m    Map
		k    Kind
		id   uint32
		want uint32
		err  bool
	}{
		{"root uid", m, User, 100000, 0, false},
		{"root gid", m, Group, 200000, 0, false},
		{"last gid", m, Group, 200000 + Size - 1, Size - 1, false},
		{"below", m, User, 99999, 0, true},
		{"above", m, User, 100000 + Size, 0, true},
		{"host root", m, User, 0, 0, true},
		{"the other kind's range", m, User, 200000, 0, true},
		{"privileged keeps ids", Map{}, Group, 4242, 4242, false},
	} {
		got, err := c.m.ToContainer(c.k, c.id)
		if c.err {
			if !errors.Is(err, ErrUnmapped) {
				t.Errorf("%s: ToContainer(%d) = %d, %v; want ErrUnmapped", c.name, c.id, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: ToContainer(%d) = %d, %v; want %d", c.name, c.id, got, err, c.want)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	m := Map{UID: 1000000, GID: 1065536, Size: Size}
	for _, k := range []Kind{User, Group} {
		for _, id := range []int64{0, 1, 1000, 65534, Size - 1} {
			h, err := m.ToHost(k, id)
			if err != nil {
				t.Fatal(err)
			}
			back, err := m.ToContainer(k, h)
			if err != nil || int64(back) != id {
				t.Errorf("kind %d: %d -> %d -> %d, %v", k, id, h, back, err)
			}
		}
	}
}

func TestZeroAndOf(t *testing.T) {
	if !(Map{}).IsZero() || (Map{UID: 1, GID: 1, Size: 1}).IsZero() || (Map{Size: Size}).IsZero() {
		t.Error("IsZero: only the zero Map leaves ids as they are")
	}
	if !Of(nil).IsZero() {
		t.Error("Of(nil) is not the zero Map")
	}
	m := Map{UID: 5, GID: 6, Size: 7}
	if Of(&m) != m {
		t.Errorf("Of(&m) = %v, want %v", Of(&m), m)
	}
}
