package idmap

// Map maps container ids 0..Size-1 to host ids from UID/GID.
type Map struct {
	UID, GID, Size uint32
}
