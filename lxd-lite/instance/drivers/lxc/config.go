package lxc

import (
	"fmt"
	"sort"
	"strings"

	"lite/lxd-lite/instance"
)

// ConsoleLogSize caps console.log (liblxc's lxc.console.size, a power of two); when it is
// full liblxc moves it to console.log.1 and starts a new one.
const ConsoleLogSize = "1MB"

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
	// "force" makes lxc mount the cgroup hierarchies itself even with a cgroup namespace:
	// left to systemd inside, a hybrid host's separate v1 cpu and cpuacct hierarchies go
	// unmounted (systemd insists on co-mounting them), hiding the container's CPU limits.
	line("lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed:force")
	line("lxc.environment", "container=lxc")
	line("lxc.tty.max", "0")
	line("lxc.pty.max", "1024")
	line("lxc.signal.halt", "SIGRTMIN+3")
	if spec.ConsoleLog != "" {
		// Capped and rotated like LXD's: a guest flooding /dev/console costs the host at
		// most twice ConsoleLogSize (the file and its ".1"), never its disk.
		line("lxc.console.logfile", spec.ConsoleLog)
		line("lxc.console.size", ConsoleLogSize)
		line("lxc.console.rotate", "1")
	}
	if len(spec.NICs) == 0 {
		line("lxc.net.0.type", "empty")
	}
	for i, n := range spec.NICs {
		k := fmt.Sprintf("lxc.net.%d.", i)
		line(k+"type", "veth")
		line(k+"name", n.Name)
		line(k+"link", n.Bridge)
		line(k+"flags", "up")
		if n.HostName != "" {
			line(k+"veth.pair", n.HostName)
		}
		if n.Hwaddr != "" {
			line(k+"hwaddr", n.Hwaddr)
		}
		if n.MTU > 0 {
			line(k+"mtu", fmt.Sprint(n.MTU))
		}
		if n.IPv4 != "" {
			line(k+"ipv4.address", n.IPv4)
		}
	}
	for _, m := range spec.Mounts {
		opts := []string{"bind", "create=file"}
		if m.Dir {
			opts[1] = "create=dir"
		}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		if m.Optional {
			opts = append(opts, "optional")
		}
		if m.Shift && spec.IDMap != nil {
			opts = append(opts, "idmap=container")
		}
		line("lxc.mount.entry", fmt.Sprintf("%s %s none %s 0 0", m.Source, strings.TrimPrefix(m.Path, "/"), strings.Join(opts, ",")))
	}
	for _, d := range spec.Nodes {
		src := d.Source
		if src == "" {
			src = "/dev/null"
		}
		line("lxc.mount.entry", fmt.Sprintf("%s %s none bind,create=file,optional 0 0", src, strings.TrimPrefix(d.Path, "/")))
		if d.AllowKey != "" {
			line(d.AllowKey, fmt.Sprintf("%s %d:%d rwm", d.Type, d.Major, d.Minor))
		}
	}
	keys := make([]string, 0, len(spec.Cgroups))
	for k := range spec.Cgroups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		line(k, spec.Cgroups[k])
	}
	line("lxc.autodev", "1")
	line("lxc.log.file", spec.LogFile)
	line("lxc.log.level", "warn")
	if spec.RawLXC != "" {
		b.WriteString("# raw.lxc\n")
		b.WriteString(strings.TrimRight(spec.RawLXC, "\n") + "\n")
	}
	return b.String()
}
