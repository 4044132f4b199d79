package profiles

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var allowanceTimeRe = regexp.MustCompile(`^([0-9]+)ms/([0-9]+)ms$`)

// CPUAllowance is a parsed limits.cpu.allowance: a share of one CPU under contention
// (Percent), or a hard quota of Quota per Period (both in microseconds).
type CPUAllowance struct {
	Percent       int
	Quota, Period int64
}

// ParseCPUAllowance reads "50%" or "25ms/100ms".
func ParseCPUAllowance(v string) (CPUAllowance, error) {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 100 {
			return CPUAllowance{}, fmt.Errorf("%q is not a percentage from 1%% to 100%%", v)
		}
		return CPUAllowance{Percent: n}, nil
	}
	m := allowanceTimeRe.FindStringSubmatch(v)
	if m == nil {
		return CPUAllowance{}, fmt.Errorf("%q is not a CPU allowance (examples: 50%%, 25ms/100ms)", v)
	}
	q, err1 := strconv.ParseInt(m[1], 10, 32)
	p, err2 := strconv.ParseInt(m[2], 10, 32)
	// The kernel takes periods from 1ms to 1s, and quotas of at least 1ms.
	if err1 != nil || err2 != nil || q < 1 || p < 1 || p > 1000 {
		return CPUAllowance{}, fmt.Errorf("%q: the quota must be at least 1ms and the period from 1ms to 1000ms", v)
	}
	return CPUAllowance{Quota: q * 1000, Period: p * 1000}, nil
}

// IsCPUAllowance accepts "50%" (a share) or "25ms/100ms" (a hard quota per period).
func IsCPUAllowance(v string) error { _, err := ParseCPUAllowance(v); return err }

// IsNotYetTrue applies v, then refuses a true value with why: the key is known and checked,
// but lite cannot do what it asks yet.
func IsNotYetTrue(v Validator, why string) Validator {
	return func(s string) error {
		if err := v(s); err != nil {
			return err
		}
		if IsTrue(s) {
			return fmt.Errorf("%s (only false is accepted)", why)
		}
		return nil
	}
}

// rawLXCOwned are the lxc keys lite writes itself; raw.lxc may not set them, since a second
// value would break the container's storage, id map, network or name.
var rawLXCOwned = []string{"lxc.rootfs", "lxc.idmap", "lxc.net", "lxc.uts.name", "lxc.log.file", "lxc.include", "lxc.arch"}

// rawLXCKeyRe is the shape of every lxc key. liblxc builds file names from some key suffixes
// (lxc.proc.NAME is /proc/PID/NAME, lxc.cgroup.NAME a file of the container's cgroup), written
// as host root, so a suffix with "/" or ".." would be a path out of them.
var rawLXCKeyRe = regexp.MustCompile(`^lxc(\.[A-Za-z0-9_-]+)+$`)

// IsRawLXC accepts lxc config lines ("key = value", comments, blank lines) that do not set
// keys lite owns.
func IsRawLXC(v string) error {
	if r, ok := ControlChar(v, "\t\n"); ok {
		return fmt.Errorf("the value contains the control character %U (only lines separated by newlines are allowed)", r)
	}
	for i, line := range strings.Split(v, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, _, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if !ok || !rawLXCKeyRe.MatchString(key) {
			return fmt.Errorf("line %d %q is not an lxc setting (use \"lxc.key = value\")", i+1, line)
		}
		for _, owned := range rawLXCOwned {
			if key == owned || strings.HasPrefix(key, owned+".") {
				return fmt.Errorf("line %d sets %s, which lite manages itself (raw.lxc may not set %s)", i+1, key, strings.Join(rawLXCOwned, "*, ")+"*")
			}
		}
	}
	return nil
}

// IsAbsPath accepts an absolute path without ".." parts or control characters.
func IsAbsPath(v string) error {
	if err := IsSingleLine(v); err != nil {
		return err
	}
	if !strings.HasPrefix(v, "/") {
		return fmt.Errorf("%q is not an absolute path", v)
	}
	for _, part := range strings.Split(v, "/") {
		if part == ".." {
			return fmt.Errorf("%q contains \"..\"", v)
		}
	}
	return nil
}

// IsFileMode accepts an octal permission mode like 0660.
func IsFileMode(v string) error {
	n, err := strconv.ParseUint(v, 8, 32)
	if err != nil || n > 0o7777 {
		return fmt.Errorf("%q is not an octal file mode (example: 0660)", v)
	}
	return nil
}
