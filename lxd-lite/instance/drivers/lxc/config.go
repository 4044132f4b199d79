package lxc

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"lite/client/api"
	"lite/lxd-lite/instance"
	"lite/profiles"
)

// SeccompPath is where the container's seccomp policy is written, beside its lxc config.
func SeccompPath(spec instance.RunSpec) string { return filepath.Join(spec.Dir, "seccomp") }

// seccompBase is liblxc's common.seccomp (a denylist), with ENOSYS as LXD answers, so software
// that probes for a syscall falls back instead of failing.
const seccompBase = `2
denylist
reject_force_umount  # umount -f: not recommended
[all]
kexec_load errno 38
open_by_handle_at errno 38
init_module errno 38
finit_module errno 38
delete_module errno 38
`

// seccompMountAPI denies the new mount API. Lite may run on hosts without AppArmor, where
// nothing mediates mounts beyond the kernel's user-namespace rules; these calls reach file
// system parameter parsing straight from an unprivileged user namespace (CVE-2022-0185 came
// through fsconfig) and offer nothing systemd needs: it falls back to mount(2) on ENOSYS. A
// nesting container keeps them (its own liblxc may use them, as LXD allows with nesting).
const seccompMountAPI = `fsopen errno 38
fsconfig errno 38
fsmount errno 38
fspick errno 38
open_tree errno 38
move_mount errno 38
mount_setattr errno 38
`

// SeccompPolicy returns the seccomp policy (liblxc's format) for spec.
func SeccompPolicy(spec instance.RunSpec) string {
	if spec.Nesting {
		return seccompBase
	}
	return seccompBase + seccompMountAPI
}

// ConsoleLogSize caps console.log (liblxc's lxc.console.size, a power of two); when it is
// full liblxc moves it to console.log.1 and starts a new one.
const ConsoleLogSize = "1MB"

// Render returns the lxc configuration for spec. It is the only place lite's model turns into
// lxc keys, so it is tested against golden files. liblxc reads one setting per line, so a
// value with a newline would add settings of its own (a hook run as host root): Render
// refuses any control character in a key or value, whatever the caller checked before.
func Render(spec instance.RunSpec) (string, error) {
	var b strings.Builder
	var bad error
	line := func(k, v string) {
		if r, ok := profiles.ControlChar(k+v, ""); ok && bad == nil {
			bad = fmt.Errorf("lxc config: %s = %q: control character %U: %w", k, v, r, api.ErrInvalid)
		}
		fmt.Fprintf(&b, "%s = %s\n", k, v)
	}
	b.WriteString("# Written by lited; changes are lost on the next start.\n")
	line("lxc.include", "/usr/share/lxc/config/common.conf")
	if spec.IDMap != nil {
		line("lxc.include", "/usr/share/lxc/config/userns.conf")
	}
	if spec.Nesting {
		line("lxc.include", "/usr/share/lxc/config/nesting.conf")
	}
	// After the includes: replaces common.conf's common.seccomp with lite's policy.
	line("lxc.seccomp.profile", SeccompPath(spec))
	// An empty value clears the hooks common.conf.d adds: Debian's lxcfs package puts a
	// shell script there that binds the system's lxcfs (if one runs) over lite's own at
	// every start, and costs a shell, readlink and mounts per start.
	line("lxc.hook.mount", "")
	line("lxc.hook.post-stop", "")
	line("lxc.hook.pre-start", "")
	if len(spec.RootfsMount) > 0 {
		hook, err := remountHook(spec.RootfsMount)
		if err != nil {
			return "", err
		}
		line("lxc.hook.pre-start", hook)
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
		line("lxc.mount.entry", fmt.Sprintf("%s %s none %s 0 0", fstabEscape(m.Source), fstabEscape(strings.TrimPrefix(m.Path, "/")), strings.Join(opts, ",")))
	}
	for _, d := range spec.Nodes {
		src := d.Source
		if src == "" {
			src = "/dev/null"
		}
		line("lxc.mount.entry", fmt.Sprintf("%s %s none bind,create=file,optional 0 0", fstabEscape(src), fstabEscape(strings.TrimPrefix(d.Path, "/"))))
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
		if r, ok := profiles.ControlChar(spec.RawLXC, "\t\n"); ok {
			return "", fmt.Errorf("lxc config: raw.lxc: control character %U: %w", r, api.ErrInvalid)
		}
		b.WriteString("# raw.lxc\n")
		b.WriteString(strings.TrimRight(spec.RawLXC, "\n") + "\n")
	}
	if bad != nil {
		return "", bad
	}
	return b.String(), nil
}

// fstabEscape writes a path as a field of an fstab line (liblxc parses mount entries with
// getmntent): a space, tab or backslash becomes its octal escape, so a path cannot add
// fields (mount options) of its own.
func fstabEscape(p string) string {
	return strings.NewReplacer(" ", `\040`, "\t", `\011`, `\`, `\134`).Replace(p)
}

// remountHook is the pre-start hook that mounts the root filesystem (mount(8)'s arguments,
// the mount point last) unless it is mounted already. lite mounts it itself for a start and
// detaches it once the container runs; when the container reboots inside, liblxc's monitor
// starts it again from the same path, and this hook mounts it first. liblxc runs a hook as
// `sh -c "exec HOOK [NAME SECTION TYPE]"`: the leading redirection makes that `exec` keep
// the shell, and the trailing `#` drops the arguments liblxc appends.
func remountHook(args []string) (string, error) {
	quoted := make([]string, len(args))
	for i, a := range args {
		if strings.ContainsAny(a, "'\n") {
			return "", fmt.Errorf("lxc config: root mount argument %q has a quote or newline: %w", a, api.ErrInvalid)
		}
		quoted[i] = "'" + a + "'"
	}
	return fmt.Sprintf("2>&1; /bin/mountpoint -q %s || exec /bin/mount %s #", quoted[len(quoted)-1], strings.Join(quoted, " ")), nil
}
