package images

import (
	"encoding/binary"
	"fmt"
	"strings"

	"lite/lxd-lite/idmap"
)

// shiftID maps an image's (container) id to the host's under m; an id the map does not
// cover is refused.
func shiftID(m idmap.Map, k idmap.Kind, id int) (uint32, error) {
	h, err := m.ToHost(k, int64(id))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return h, nil
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
func shiftACL(v []byte, s idmap.Map) ([]byte, error) {
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
		var kind idmap.Kind
		switch tag {
		case aclTagUser:
			kind = idmap.User
		case aclTagGroup:
			kind = idmap.Group
		default:
			continue
		}
		nid, err := shiftID(s, kind, id)
		if err != nil {
			return nil, fmt.Errorf("acl: %w", err)
		}
		binary.LittleEndian.PutUint32(out[off+4:], nid)
	}
	return out, nil
}

// shiftXattr returns the value to store for an image xattr under the shift.
func shiftXattr(name string, v []byte, s idmap.Map) ([]byte, error) {
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
