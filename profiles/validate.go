// Package profiles is lite's pure config model: validator tables for instance keys, device
// schemas, and profile expansion. It knows nothing of HTTP, SQLite or liblxc.
package profiles

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"lite/client/api"
)

// Validator checks one value; the error says what is allowed.
type Validator func(value string) error

// ParseBool reads a boolean as LXD does: true, 1, yes, on and false, 0, no, off, in any case.
// It is the one boolean parser of config keys, lab files and lited's environment.
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "1", "yes", "on":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true or false)", v)
}

// IsBool accepts what LXD accepts for booleans.
func IsBool(v string) error {
	_, err := ParseBool(v)
	return err
}

// IsInt64 accepts a signed integer.
func IsInt64(v string) error {
	if _, err := strconv.ParseInt(v, 10, 64); err != nil {
		return fmt.Errorf("%q is not an integer", v)
	}
	return nil
}

// IsUintRange accepts an integer in [lo, hi].
func IsUintRange(lo, hi int64) Validator {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("%q is not an integer from %d to %d", v, lo, hi)
		}
		return nil
	}
}

// Priorities (limits.cpu.priority, limits.disk.priority) are LXD's 0-10 scale, 10 the highest.
const (
	MinPriority = 0
	MaxPriority = 10
)

// IsPriority accepts a priority on the 0-10 scale.
var IsPriority = IsUintRange(MinPriority, MaxPriority)

// ParsePriority reads a priority on the 0-10 scale.
func ParsePriority(v string) (int, error) {
	if err := IsPriority(v); err != nil {
		return 0, err
	}
	return strconv.Atoi(v)
}

// IsOneOf accepts one of the given words.
func IsOneOf(words ...string) Validator {
	return func(v string) error {
		for _, w := range words {
			if v == w {
				return nil
			}
		}
		return fmt.Errorf("%q is not one of %s", v, strings.Join(words, ", "))
	}
}

// IsAny accepts any value.
func IsAny(string) error { return nil }

// Optional lets an empty value through (an unset key), else applies v.
func Optional(v Validator) Validator {
	return func(s string) error {
		if s == "" {
			return nil
		}
		return v(s)
	}
}

var sizeRe = regexp.MustCompile(`^([0-9]+)(B|kB|MB|GB|TB|KiB|MiB|GiB|TiB)?$`)

var sizeUnits = map[string]int64{
	"": 1, "B": 1, "kB": 1000, "MB": 1000 * 1000, "GB": 1000 * 1000 * 1000, "TB": 1000 * 1000 * 1000 * 1000,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
}

// ParseSize reads a byte size like 512MiB, 1GB or 1048576.
func ParseSize(v string) (int64, error) {
	m := sizeRe.FindStringSubmatch(v)
	if m == nil {
		return 0, fmt.Errorf("%q is not a size (examples: 512MiB, 2GiB, 1000000)", v)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a positive size", v)
	}
	unit := sizeUnits[m[2]]
	if n > math.MaxInt64/unit {
		return 0, fmt.Errorf("%q is too large", v)
	}
	return n * unit, nil
}

// IsSize accepts a positive byte size.
func IsSize(v string) error { _, err := ParseSize(v); return err }

// IsSizeOrPercent accepts a byte size or a percentage of the host's.
func IsSizeOrPercent(v string) error {
	if p, ok := strings.CutSuffix(v, "%"); ok {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 100 {
			return fmt.Errorf("%q is not a percentage from 1%% to 100%%", v)
		}
		return nil
	}
	return IsSize(v)
}

var cpuSetRe = regexp.MustCompile(`^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$`)

// IsCPULimit accepts a CPU count (>= 1) or a CPU set like 0-1,3.
func IsCPULimit(v string) error {
	if n, err := strconv.Atoi(v); err == nil {
		if n < 1 {
			return fmt.Errorf("%q: a CPU count must be at least 1", v)
		}
		return nil
	}
	if cpuSetRe.MatchString(v) {
		return nil
	}
	return fmt.Errorf("%q is not a CPU count or set (examples: 2, 0-1, 0,2)", v)
}

// instanceKeys is the table of instance config keys lite knows. Keys under user.*,
// environment.* and image.* are free; volatile.* belong to the daemon.
var instanceKeys = map[string]Validator{
	"boot.autostart":             Optional(IsBool),
	"boot.autostart.delay":       Optional(IsUintRange(0, 3600)),
	"boot.autostart.priority":    Optional(IsInt64),
	"boot.stop.priority":         Optional(IsInt64),
	"limits.cpu":                 Optional(IsCPULimit),
	"limits.cpu.allowance":       Optional(IsCPUAllowance),
	"limits.cpu.priority":        Optional(IsPriority),
	"limits.memory":              Optional(IsSizeOrPercent),
	"limits.memory.enforce":      Optional(IsOneOf("hard", "soft")),
	"limits.memory.swap":         Optional(IsBool),
	"limits.processes":           Optional(IsUintRange(1, 1<<22)),
	"limits.disk.priority":       Optional(IsPriority),
	"security.privileged":        Optional(IsBool),
	"security.nesting":           Optional(IsBool),
	"security.idmap.isolated":    Optional(IsNotYetTrue(IsBool, "isolated id maps (one per container) are not supported yet")),
	"raw.lxc":                    IsRawLXC,
	"snapshots.schedule":         Optional(isSchedule),
	"snapshots.schedule.stopped": Optional(IsBool),
	"snapshots.expiry":           Optional(isExpiry),
	"snapshots.pattern":          Optional(isPattern),
}

// freePrefixes are namespaces whose keys take any value.
var freePrefixes = []string{"user.", "environment.", "image."}

// ValidateInstanceKey checks one key and its value. fromUser refuses volatile.* keys, which
// only the daemon may set.
func ValidateInstanceKey(key, value string, fromUser bool) error {
	if err := IsSingleLine(key); err != nil {
		return fmt.Errorf("config key: %v: %w", err, api.ErrInvalid)
	}
	if strings.HasPrefix(key, "volatile.") {
		if fromUser {
			return fmt.Errorf("config key %q is read-only: volatile.* keys are set by lited: %w", key, api.ErrInvalid)
		}
		// Stored ones come back from clients and backups: they name host resources (a veth,
		// an image), so they are single lines too.
		if err := IsSingleLine(value); err != nil {
			return fmt.Errorf("config key %q: %v: %w", key, err, api.ErrInvalid)
		}
		return nil
	}
	for _, p := range freePrefixes {
		if strings.HasPrefix(key, p) && len(key) > len(p) {
			check := isFreeText
			if p == "image." {
				check = IsSingleLine
			}
			if err := check(value); err != nil {
				return fmt.Errorf("config key %q: %v: %w", key, err, api.ErrInvalid)
			}
			return nil
		}
	}
	v, ok := instanceKeys[key]
	switch {
	case ok && key != "raw.lxc":
		v = singleLine(v)
	case !ok:
		// cloud-init data are documents: they reach the guest only as file contents.
		if v, ok = cloudInitKeys[key]; ok {
			v = all(isFreeText, v)
		}
	}
	if !ok {
		return fmt.Errorf("unknown config key %q: %w", key, api.ErrInvalid)
	}
	if err := v(value); err != nil {
		return fmt.Errorf("config key %q: %v: %w", key, err, api.ErrInvalid)
	}
	return nil
}

// ValidateInstanceConfig checks a whole config map. Volatile keys that were already stored
// (old) may come back unchanged in a PUT, as LXD's clients send them back.
func ValidateInstanceConfig(cfg, old map[string]string) error {
	for k, v := range cfg {
		fromUser := true
		if ov, ok := old[k]; ok && ov == v && strings.HasPrefix(k, "volatile.") {
			fromUser = false
		}
		if err := ValidateInstanceKey(k, v, fromUser); err != nil {
			return err
		}
	}
	return nil
}

// IsTrue reads a boolean config value; absent or invalid is false.
func IsTrue(v string) bool {
	b, err := ParseBool(v)
	return err == nil && b
}
