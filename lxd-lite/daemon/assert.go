package daemon

import (
	"lite/lxd-lite/imagesvc"
	"lite/lxd-lite/instance"
)

// imagesvc and instance do not import each other; each names what it needs of the other as
// an interface, and the daemon, which wires them together, checks at build time that they fit.
var (
	_ instance.Images        = (*imagesvc.Service)(nil)
	_ imagesvc.StoppedRootfs = (*instance.Files)(nil)
)
