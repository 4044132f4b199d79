package images

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// Shift is the host id that container id 0 maps to: every owner in an image
// is moved up by it when the image is unpacked for an unprivileged
// container. The zero Shift leaves owners as they are.
type Shift struct {
	UID, GID uint32
}

// IsZero reports whether the shift leaves ids unchanged.
func (s Shift) IsZero() bool {
	return s.UID == 0 && s.GID == 0
}

// maxContainerID bounds image ids when shifting: the default idmap gives a
// container 65536 ids, and an id above that would land in someone else's
// range on the host.
const maxContainerID = 65536

// shiftID adds base to id, refusing ids that do not fit the container's range.
func shiftID(id int, base uint32) (uint32, error) {
	if id < 0 || id > math.MaxUint32 {
		return 0, fmt.Errorf("id %d: %w", id, ErrInvalid)
	}
	if base == 0 {
		return uint32(id), nil
	}
	if id >= maxContainerID {
		return 0, fmt.Errorf("id %d outside the container's %d ids: %w", id, maxContainerID, ErrInvalid)
	}
	return base + uint32(id), nil
}

// Xattr names handled specially.
const (
	xattrCapability = "security.capability"
	xattrACLAccess  = "system.posix_acl_access"
	xattrACLDefault = "system.posix_acl_default"
)

// skipXattr reports whether an xattr from an image (or a backup) must not be
// restored. overlayfs's own attributes would steer the overlay mount built on
// top of the layer (redirects, metacopy, opaque dirs): lited mounts overlays
// on the host, where they are trusted.overlay.*, and older versions in the
// container's namespace, where they were user.overlay.*. No other trusted.*
// attribute is the image's to set either (only host root can), nor any
// security.* one but file capabilities (SELinux labels, IMA/EVM data).
func skipXattr(name string) bool {
	switch {
	case name == xattrCapability:
		return false
	case strings.HasPrefix(name, "trusted."), strings.HasPrefix(name, "security."):
		return true
	}
	return strings.HasPrefix(name, "user.overlay.")
}

// File capability xattr layout (linux/capability.h).
const (
	vfsCapRevisionMask   = 0xff000000
	vfsCapRevision1      = 0x01000000
	vfsCapRevision2      = 0x02000000
	vfsCapRevision3      = 0x03000000
	vfsCapFlagsEffective = 0x000001
	vfsCapV1Size         = 4 + 8
	vfsCapV2Size         = 4 + 16
	vfsCapV3Size         = 4 + 16 + 4
)

// shiftCapability rewrites a security.capability value for a file unpacked
// with the given root id. With rootID 0 it returns a revision 2 value (what
// a privileged system stores). Otherwise it returns a revision 3 value whose
// rootid is rootID, which the kernel honours only inside a user namespace
// whose root is rootID: so ping's cap_net_raw works in the container and
// nowhere else. Any revision is accepted as input; its rootid is replaced.
func shiftCapability(v []byte, rootID uint32) ([]byte, error) {
	if len(v) < 4 {
		return nil, fmt.Errorf("%s: %d bytes: %w", xattrCapability, len(v), ErrInvalid)
	}
	magic := binary.LittleEndian.Uint32(v)
	var perm, inh [2]uint32
	switch magic & vfsCapRevisionMask {
	case vfsCapRevision1:
		if len(v) != vfsCapV1Size {
			return nil, fmt.Errorf("%s: revision 1 with %d bytes: %w", xattrCapability, len(v), ErrInvalid)
		}
		perm[0], inh[0] = binary.LittleEndian.Uint32(v[4:]), binary.LittleEndian.Uint32(v[8:])
	case vfsCapRevision2, vfsCapRevision3:
		want := vfsCapV2Size
		if magic&vfsCapRevisionMask == vfsCapRevision3 {
			want = vfsCapV3Size
		}
		if len(v) != want {
			return nil, fmt.Errorf("%s: %d bytes: %w", xattrCapability, len(v), ErrInvalid)
		}
		for i := range 2 {
			perm[i] = binary.LittleEndian.Uint32(v[4+8*i:])
			inh[i] = binary.LittleEndian.Uint32(v[8+8*i:])
		}
	default:
		return nil, fmt.Errorf("%s: unknown revision %#x: %w", xattrCapability, magic, ErrInvalid)
	}
	flags := magic & vfsCapFlagsEffective
	size, rev := vfsCapV2Size, uint32(vfsCapRevision2)
	if rootID != 0 {
		size, rev = vfsCapV3Size, vfsCapRevision3
	}
	out := make([]byte, size)
	binary.LittleEndian.PutUint32(out, rev|flags)
	for i := range 2 {
		binary.LittleEndian.PutUint32(out[4+8*i:], perm[i])
		binary.LittleEndian.PutUint32(out[8+8*i:], inh[i])
	}
	if rootID != 0 {
		binary.LittleEndian.PutUint32(out[20:], rootID)
	}
	return out, nil
}

// POSIX ACL xattr layout (linux/posix_acl_xattr.h).
const (
	aclVersion   = 2
	aclHeaderLen = 4
	aclEntryLen  = 8
	aclTagUser   = 0x02
	aclTagGroup  = 0x08
)

// shiftACL moves the named-user and named-group ids of a POSIX ACL xattr
// value by the shift; the owner, group, mask and other entries carry no id.
func shiftACL(v []byte, s Shift) ([]byte, error) {
	if len(v) < aclHeaderLen || (len(v)-aclHeaderLen)%aclEntryLen != 0 {
		return nil, fmt.Errorf("acl: %d bytes: %w", len(v), ErrInvalid)
	}
	if binary.LittleEndian.Uint32(v) != aclVersion {
		return nil, fmt.Errorf("acl: version %d: %w", binary.LittleEndian.Uint32(v), ErrInvalid)
	}
	out := append([]byte(nil), v...)
	for off := aclHeaderLen; off < len(out); off += aclEntryLen {
		tag := binary.LittleEndian.Uint16(out[off:])
		id := int(binary.LittleEndian.Uint32(out[off+4:]))
		var base uint32
		switch tag {
		case aclTagUser:
			base = s.UID
		case aclTagGroup:
			base = s.GID
		default:
			continue
		}
		nid, err := shiftID(id, base)
		if err != nil {
			return nil, fmt.Errorf("acl: %w", err)
		}
		binary.LittleEndian.PutUint32(out[off+4:], nid)
	}
	return out, nil
}

// shiftXattr returns the value to store for an image xattr under the shift.
func shiftXattr(name string, v []byte, s Shift) ([]byte, error) {
	switch name {
	case xattrCapability:
		return shiftCapability(v, s.UID)
	case xattrACLAccess, xattrACLDefault:
		if s.IsZero() {
			return v, nil
		}
		return shiftACL(v, s)
	}
	return v, nil
}
