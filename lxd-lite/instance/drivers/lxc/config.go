package lxc

import (
	"fmt"
	"strings"

	"lite/lxd-lite/instance"
)

// Render returns the lxc configuration for spec. It is the only place lite's model turns into
// lxc keys, so it is tested against golden files.
func Render(spec instance.RunSpec) string {
	var b strings.Builder
	line := func(k, v string) { fmt.Fprintf(&b, "%s = %s\n", k, v) }
	b.WriteString("# Written by lited; changes are lost on the next start.\n")
	line("lxc.include", "/usr/share/lxc/config/common.conf")
	if spec.IDMap != nil {
		line("lxc.include", "/usr/share/lxc/config/userns.conf")
	}
	if spec.Nesting {
		line("lxc.include", "/usr/share/lxc/config/nesting.conf")
	}
	line("lxc.arch", "linux64")
	line("lxc.uts.name", spec.Hostname)
	line("lxc.rootfs.path", spec.Rootfs)
	if spec.IDMap != nil {
		line("lxc.idmap", fmt.Sprintf("u 0 %d %d", spec.IDMap.UID, spec.IDMap.Size))
		line("lxc.idmap", fmt.Sprintf("g 0 %d %d", spec.IDMap.GID, spec.IDMap.Size))
	}
	// Mixed cgroup/proc/sys mounts are what systemd needs to boot as an unprivileged PID 1.
	line("lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed")
	line("lxc.environment", "container=lxc")
	line("lxc.tty.max", "0")
	line("lxc.pty.max", "1024")
	line("lxc.signal.halt", "SIGRTMIN+3")
	line("lxc.net.0.type", "empty")
	line("lxc.autodev", "1")
	line("lxc.log.file", spec.LogFile)
	line("lxc.log.level", "warn")
	if spec.RawLXC != "" {
		b.WriteString("# raw.lxc\n")
		b.WriteString(strings.TrimRight(spec.RawLXC, "\n") + "\n")
	}
	return b.String()
}
