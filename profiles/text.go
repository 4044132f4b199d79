package profiles

import (
	"fmt"
	"regexp"
	"strings"
)

// Values end up in files lited writes line by line (liblxc's config, dnsmasq's files, the
// hosts and hostname files of templates), where a newline starts a new setting. So every
// value is refused if it carries a control character, except free text that may span lines.

// ControlChar returns the first C0 control character or DEL in v and whether there is one;
// those listed in allowed are skipped.
func ControlChar(v, allowed string) (rune, bool) {
	for _, r := range v {
		if (r < 0x20 || r == 0x7f) && !strings.ContainsRune(allowed, r) {
			return r, true
		}
	}
	return 0, false
}

// IsSingleLine refuses any control character (newline, CR, NUL, tab, any other C0, DEL).
func IsSingleLine(v string) error {
	if r, ok := ControlChar(v, ""); ok {
		return fmt.Errorf("%q contains the control character %U, which is not allowed", v, r)
	}
	return nil
}

// isFreeText accepts any text but NUL and control characters other than tab, newline and
// carriage return: user.* keys hold documents (cloud-init data), environment.* values may
// span lines.
func isFreeText(v string) error {
	if r, ok := ControlChar(v, "\t\n\r"); ok {
		return fmt.Errorf("the value contains the control character %U, which is not allowed", r)
	}
	return nil
}

// singleLine applies IsSingleLine before v.
func singleLine(v Validator) Validator { return all(IsSingleLine, v) }

// all applies each validator in turn and returns the first error.
func all(vs ...Validator) Validator {
	return func(s string) error {
		for _, v := range vs {
			if err := v(s); err != nil {
				return err
			}
		}
		return nil
	}
}

// rawLXCSafe are the lxc key prefixes raw.lxc may set without the server's opt-in: settings
// that stay inside the container (its cgroup limits, rlimits, init, environment, ttys) and
// cannot reach the host or loosen its confinement. lxc.sysctl.* is not among them: in a
// privileged container a host-wide sysctl (kernel.core_pattern) runs host commands.
var rawLXCSafe = []string{
	"lxc.cgroup.", "lxc.cgroup2.", "lxc.prlimit.", "lxc.proc.", "lxc.environment",
	"lxc.init.", "lxc.execute.", "lxc.signal.", "lxc.start.", "lxc.tty.max", "lxc.pty.", "lxc.autodev",
	"lxc.keyring.", "lxc.no_new_privs", "lxc.time.",
}

// rawLXCConfining are the cgroup keys that are not limits: device access and the placement
// of the container's cgroup, both ways out of it.
var rawLXCConfining = []string{
	"lxc.cgroup.devices.", "lxc.cgroup2.devices.", "lxc.cgroup.dir", "lxc.cgroup.relative",
}

// RawLXCHostAccess returns an error naming the first line of raw.lxc that reaches the host or
// changes the container's confinement (hooks, AppArmor, seccomp, capabilities, mounts,
// namespaces, device access, the console, ...): lited refuses those unless the server opts in.
func RawLXCHostAccess(v string) error {
	for i, line := range strings.Split(v, "\n") {
		key, _, ok := strings.Cut(strings.TrimSpace(line), "=")
		key = strings.TrimSpace(key)
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		if rawLXCKeySafe(key) {
			continue
		}
		return fmt.Errorf("raw.lxc line %d sets %s, which can run host commands or loosen the container's confinement "+
			"(hooks, apparmor, seccomp, capabilities, mounts, namespaces, devices and the console are restricted): "+
			"lited refuses it unless started with --allow-raw-lxc-hooks (LITE_ALLOW_RAW_LXC_HOOKS=true)", i+1, key)
	}
	return nil
}

// rawLXCCgroupLimit is the shape of a cgroup key raw.lxc may set: a limit file of a resource
// controller. liblxc writes the key's suffix as a file of the container's cgroup, as host root:
// cgroup.procs (or tasks) would move a host process, PID 1 included, into a cgroup the
// container's root can freeze or kill; freezer, release_agent and notify_on_release are out too.
var rawLXCCgroupLimit = regexp.MustCompile(`^lxc\.cgroup2?\.(cpu|cpuset|memory|pids|io|blkio|hugetlb|misc)\.[a-z0-9_.]+$`)

func rawLXCKeySafe(key string) bool {
	if strings.HasPrefix(key, "lxc.cgroup.") || strings.HasPrefix(key, "lxc.cgroup2.") {
		return rawLXCCgroupLimit.MatchString(key)
	}
	for _, p := range rawLXCConfining {
		if strings.HasPrefix(key, p) {
			return false
		}
	}
	for _, p := range rawLXCSafe {
		if key == strings.TrimSuffix(p, ".") || strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// ValidateDeviceName accepts a device name: it names host files (unix.NAME), volatile keys
// and interface defaults, so it may not be empty, ".", "..", hold "/" or control characters.
func ValidateDeviceName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid device name %q: it must be a non-empty name", name)
	case len(name) > 63:
		return fmt.Errorf("invalid device name %q: longer than 63 characters", name)
	case strings.ContainsAny(name, "/ "):
		return fmt.Errorf("invalid device name %q: it must not contain \"/\" or spaces", name)
	}
	if r, ok := ControlChar(name, ""); ok {
		return fmt.Errorf("invalid device name %q: control character %U", name, r)
	}
	return nil
}
