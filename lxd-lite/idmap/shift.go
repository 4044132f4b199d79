package idmap

import (
	"errors"
	"fmt"
	"math"
)

// ErrUnmapped is the kind of every id that falls outside a map.
var ErrUnmapped = errors.New("outside the container's id map")

// Kind says which of a map's two ranges an id belongs to.
type Kind int

// The two kinds of ids.
const (
	User Kind = iota
	Group
)

// IsZero reports whether the map leaves ids as they are: the zero Map stands for a privileged
// container, whose ids are the host's.
func (m Map) IsZero() bool { return m == Map{} }

// Base returns the host id that the container's id 0 of kind k maps to.
func (m Map) Base(k Kind) uint32 {
	if k == Group {
		return m.GID
	}
	return m.UID
}

// ToHost maps a container id of kind k to the host's. An id outside the container's Size ids
// is refused (ErrUnmapped): shifted, it would land in another container's range or wrap.
func (m Map) ToHost(k Kind, id int64) (uint32, error) {
	if id < 0 || id > math.MaxUint32 {
		return 0, fmt.Errorf("id %d: %w", id, ErrUnmapped)
	}
	if m.IsZero() {
		return uint32(id), nil
	}
	if id >= int64(m.Size) || int64(m.Base(k))+id > math.MaxUint32 {
		return 0, fmt.Errorf("id %d (0-%d): %w", id, int64(m.Size)-1, ErrUnmapped)
	}
	return m.Base(k) + uint32(id), nil
}

// ToContainer maps a host id of kind k back to the container's; a host id that no container
// id maps to is refused (ErrUnmapped).
func (m Map) ToContainer(k Kind, id uint32) (uint32, error) {
	if m.IsZero() {
		return id, nil
	}
	base := m.Base(k)
	if id < base || id-base >= m.Size {
		return 0, fmt.Errorf("host id %d (%d-%d): %w", id, base, int64(base)+int64(m.Size)-1, ErrUnmapped)
	}
	return id - base, nil
}

// Of returns *m, or the zero Map (ids unchanged) for a nil map: a privileged container.
func Of(m *Map) Map {
	if m == nil {
		return Map{}
	}
	return *m
}
