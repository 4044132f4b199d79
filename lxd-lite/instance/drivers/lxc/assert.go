package lxc

import "lite/lxd-lite/instance"

// The lifecycle finds the driver's optional capabilities by type assertion; asserting them
// here makes a renamed or missing method fail the build instead of quietly turning the
// feature off (a copy of a running container refused, cgroups left behind).
var (
	_ instance.Runtime       = (*Driver)(nil)
	_ instance.Freezer       = (*Driver)(nil)
	_ instance.CgroupRemover = (*Driver)(nil)
	_ instance.Consoler      = (*Driver)(nil)
)
