package instance

import (
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"lite/client/api"
)

// matches reports whether an instance passes every filter of lite list. A filter is either
// a name (a prefix, or a regular expression matching the whole name unless it has ^ or $)
// or KEY=VALUE: KEY is a top-level field (status, type, name, architecture, ...; values
// compared without case), ipv4/ipv6 (an address or a subnet containing one), or a config
// key, possibly shortened per dotted part (u.role=db matches user.role), whose value is a
// whole-value regular expression matched without case (image.os=debian matches "Debian").
func matches(inst *api.InstanceFull, filters []string) bool {
	for _, f := range filters {
		key, value, isPair := strings.Cut(f, "=")
		var ok bool
		switch {
		case !isPair:
			ok = matchName(inst.Name, f)
		default:
			ok = matchField(inst, key, value)
		}
		if !ok {
			return false
		}
	}
	return true
}

func matchName(name, filter string) bool {
	if strings.HasPrefix(name, filter) {
		return true
	}
	return matchRegexp(filter, name, false)
}

// matchRegexp matches value against pattern, anchored at both ends unless the pattern
// anchors itself; a pattern that is not a valid expression must equal the value.
func matchRegexp(pattern, value string, fold bool) bool {
	expr := pattern
	if !strings.ContainsAny(pattern, "^$") {
		expr = "^(?:" + pattern + ")$"
	}
	if fold {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return pattern == value || (fold && strings.EqualFold(pattern, value))
	}
	return re.MatchString(value)
}

// topLevel are the fields that KEY=VALUE filters can name directly.
var topLevel = map[string]func(*api.InstanceFull) string{
	"name":         func(i *api.InstanceFull) string { return i.Name },
	"status":       func(i *api.InstanceFull) string { return i.Status },
	"state":        func(i *api.InstanceFull) string { return i.Status },
	"type":         func(i *api.InstanceFull) string { return typeName(i) },
	"architecture": func(i *api.InstanceFull) string { return i.Architecture },
	"description":  func(i *api.InstanceFull) string { return i.Description },
	"location":     func(i *api.InstanceFull) string { return i.Location },
	"project":      func(i *api.InstanceFull) string { return i.Project },
	"ephemeral":    func(i *api.InstanceFull) string { return strconv.FormatBool(i.Ephemeral) },
	"stateful":     func(i *api.InstanceFull) string { return strconv.FormatBool(i.Stateful) },
}

func typeName(i *api.InstanceFull) string {
	if i.Type == "" {
		return "container"
	}
	return i.Type
}

func matchField(inst *api.InstanceFull, key, value string) bool {
	if get, ok := topLevel[key]; ok {
		return strings.EqualFold(get(inst), value)
	}
	switch key {
	case "ipv4", "4":
		return matchAddress(inst, "inet", value)
	case "ipv6", "6":
		return matchAddress(inst, "inet6", value)
	}
	found := false
	for _, config := range []map[string]string{inst.Config, inst.ExpandedConfig} {
		for k, v := range config {
			if keyMatches(key, k) {
				found = true
				if matchRegexp(value, v, true) {
					return true
				}
			}
		}
	}
	// "key=" matches instances where the key is unset, as an empty value would.
	return !found && value == ""
}

// keyMatches reports whether a possibly shortened key names the config key: same number of
// dotted parts, each a prefix of the full one ("u.role" names "user.role").
func keyMatches(short, full string) bool {
	if short == full {
		return true
	}
	sp, fp := strings.Split(short, "."), strings.Split(full, ".")
	if len(sp) != len(fp) {
		return false
	}
	for n := range sp {
		if sp[n] == "" || !strings.HasPrefix(fp[n], sp[n]) {
			return false
		}
	}
	return true
}

// matchAddress reports whether a global address of the family equals value or lies in it
// (a subnet such as 10.0.3.0/24).
func matchAddress(inst *api.InstanceFull, family, value string) bool {
	prefix, perr := netip.ParsePrefix(value)
	for _, a := range addresses(inst, family) {
		text, _, _ := strings.Cut(a, " ")
		if text == value {
			return true
		}
		if addr, err := netip.ParseAddr(text); err == nil && perr == nil && prefix.Contains(addr) {
			return true
		}
	}
	return false
}
