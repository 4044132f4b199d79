package instance

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"lite/client/api"
	"lite/cmd/internal/output"
)

// column is one column of lite list.
type column struct {
	header string
	cell   func(inst *api.InstanceFull, loc *time.Location) string
}

// DefaultColumns are lite list's columns unless -c is given.
const DefaultColumns = "ns46tS"

// columns maps lxc's shorthand letters to columns.
var columns = map[rune]column{
	'n': {"NAME", func(i *api.InstanceFull, _ *time.Location) string { return i.Name }},
	's': {"STATE", func(i *api.InstanceFull, _ *time.Location) string { return strings.ToUpper(i.Status) }},
	'4': {"IPV4", func(i *api.InstanceFull, _ *time.Location) string { return strings.Join(addresses(i, "inet"), "\n") }},
	'6': {"IPV6", func(i *api.InstanceFull, _ *time.Location) string { return strings.Join(addresses(i, "inet6"), "\n") }},
	't': {"TYPE", typeCell},
	'S': {"SNAPSHOTS", func(i *api.InstanceFull, _ *time.Location) string { return strconv.Itoa(len(i.Snapshots)) }},
	'a': {"ARCHITECTURE", func(i *api.InstanceFull, _ *time.Location) string { return i.Architecture }},
	'c': {"CREATED AT", func(i *api.InstanceFull, loc *time.Location) string { return output.Time(i.CreatedAt, loc) }},
	'l': {"LAST USED AT", func(i *api.InstanceFull, loc *time.Location) string { return output.Time(i.LastUsedAt, loc) }},
	'p': {"PID", stateCell(func(s *api.InstanceState) string { return strconv.FormatInt(s.Pid, 10) })},
	'P': {"PROFILES", func(i *api.InstanceFull, _ *time.Location) string { return strings.Join(i.Profiles, "\n") }},
	'b': {"STORAGE POOL", func(i *api.InstanceFull, _ *time.Location) string { return rootPool(i) }},
	'm': {"MEMORY USAGE", stateCell(func(s *api.InstanceState) string { return nonZero(s.Memory.Usage, output.IEC) })},
	'M': {"MEMORY USAGE%", memoryPercent},
	'u': {"CPU USAGE", stateCell(func(s *api.InstanceState) string {
		return nonZero(s.CPU.Usage, func(ns int64) string { return fmt.Sprintf("%ds", ns/int64(time.Second)) })
	})},
	'D': {"DISK USAGE", stateCell(func(s *api.InstanceState) string { return nonZero(s.Disk["root"].Usage, output.IEC) })},
	'N': {"PROCESSES", stateCell(func(s *api.InstanceState) string { return strconv.FormatInt(s.Processes, 10) })},
	'd': {"DESCRIPTION", func(i *api.InstanceFull, _ *time.Location) string { return i.Description }},
	'L': {"LOCATION", func(i *api.InstanceFull, _ *time.Location) string { return i.Location }},
}

// clustered reports whether instances come from a cluster: they then name their member.
func clustered(list []api.InstanceFull) bool {
	for n := range list {
		if l := list[n].Location; l != "" && l != "none" {
			return true
		}
	}
	return false
}

// parseColumns turns "ns46tS" (commas allowed between letters) into columns.
func parseColumns(spec string) ([]column, error) {
	var cols []column
	for _, r := range spec {
		if r == ',' {
			continue
		}
		col, ok := columns[r]
		if !ok {
			return nil, fmt.Errorf("unknown column shorthand %q in %q", string(r), spec)
		}
		cols = append(cols, col)
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("no columns in %q", spec)
	}
	return cols, nil
}

func typeCell(i *api.InstanceFull, _ *time.Location) string {
	t := strings.ToUpper(i.Type)
	if t == "" {
		t = "CONTAINER"
	}
	if i.Ephemeral {
		t += " (EPHEMERAL)"
	}
	return t
}

// stateCell shows a runtime figure only for active instances that reported their state.
func stateCell(f func(*api.InstanceState) string) func(*api.InstanceFull, *time.Location) string {
	return func(i *api.InstanceFull, _ *time.Location) string {
		if i.State == nil || !isActive(i) {
			return ""
		}
		return f(i.State)
	}
}

func nonZero(n int64, format func(int64) string) string {
	if n <= 0 {
		return ""
	}
	return format(n)
}

// addresses lists the global addresses of one family ("inet" or "inet6") as "ADDR (IFACE)",
// ordered by address.
func addresses(i *api.InstanceFull, family string) []string {
	if i.State == nil {
		return nil
	}
	type entry struct {
		addr  netip.Addr
		text  string
		iface string
	}
	var list []entry
	for iface, nic := range i.State.Network {
		if nic.Type == "loopback" {
			continue
		}
		for _, a := range nic.Addresses {
			if a.Family != family || a.Scope != "global" {
				continue
			}
			addr, _ := netip.ParseAddr(a.Address)
			list = append(list, entry{addr, a.Address, iface})
		}
	}
	sort.Slice(list, func(x, y int) bool {
		if c := list[x].addr.Compare(list[y].addr); c != 0 {
			return c < 0
		}
		if list[x].text != list[y].text {
			return list[x].text < list[y].text
		}
		return list[x].iface < list[y].iface
	})
	out := make([]string, len(list))
	for n, e := range list {
		out[n] = e.text + " (" + e.iface + ")"
	}
	return out
}

// rootPool is the storage pool of the instance's root disk, if it names one.
func rootPool(i *api.InstanceFull) string {
	for _, dev := range i.ExpandedDevices {
		if dev["type"] == "disk" && dev["path"] == "/" {
			return dev["pool"]
		}
	}
	return ""
}

// memoryPercent is memory use as a share of limits.memory, when that is an absolute size.
func memoryPercent(i *api.InstanceFull, _ *time.Location) string {
	if i.State == nil || !isActive(i) || i.State.Memory.Usage <= 0 {
		return ""
	}
	limit, ok := parseSize(i.ExpandedConfig["limits.memory"])
	if !ok || limit <= 0 {
		return ""
	}
	return fmt.Sprintf("%.2f%%", float64(i.State.Memory.Usage)*100/float64(limit))
}

// sizeUnits are the suffixes LXD accepts in sizes.
var sizeUnits = map[string]float64{
	"": 1, "B": 1,
	"kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "PB": 1e15, "EB": 1e18,
	"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40, "PiB": 1 << 50, "EiB": 1 << 60,
}

// parseSize parses "512MiB", "1GB" or "1048576"; percentages and garbage are not sizes.
func parseSize(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	end := strings.LastIndexAny(s, "0123456789.") + 1
	n, err := strconv.ParseFloat(s[:end], 64)
	unit, ok := sizeUnits[strings.TrimSpace(s[end:])]
	if err != nil || !ok {
		return 0, false
	}
	return int64(n * unit), true
}
