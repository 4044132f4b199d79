// Package images holds everything lite knows about images: the LXD-format
// image tarball (metadata.yaml, templates/, rootfs/), reading and safely
// unpacking it, fingerprints, the on-disk image store with its shifted layers,
// template rendering into a container's rootfs, and the debootstrap builder
// that makes Debian images from Debian's archive.
//
// The package knows nothing of HTTP or of the database: the daemon records
// images and aliases and calls in here for the bytes and the files.
//
// Unpacking is hostile-input code. Every path in a tarball is resolved
// relative to the destination with the kernel's openat2 RESOLVE_BENEATH and
// RESOLVE_NO_SYMLINKS flags, so no entry, symlink or hard link can make a
// write land outside the destination, whatever the tarball contains.
package images

import "errors"

// Error kinds returned (wrapped) by this package. Callers test them with
// errors.Is and map them to their own kinds (for example HTTP statuses).
var (
	// ErrExists means the image (same fingerprint) is already in the store.
	ErrExists = errors.New("already exists")
	// ErrNotFound means no image with that fingerprint is in the store.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the input (tarball, metadata, template, name) is
	// malformed or refused for safety.
	ErrInvalid = errors.New("invalid")
)
