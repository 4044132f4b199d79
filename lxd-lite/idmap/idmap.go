// Package idmap finds the host id range unprivileged containers map to: root's entry in
// /etc/subuid and /etc/subgid, added when absent.
package idmap

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Size is how many ids one container maps: the 16-bit range every distribution uses.
const Size = 65536

// defaultRange is what lited adds for root when the host has none: LXD's usual range, large
// enough for isolated per-container maps later.
const defaultStart, defaultCount = 1000000, 1000000000

// maxID is the highest id a range may hold: (uint32)-1 means "no id" to the kernel.
const maxID = 1<<32 - 2

// Range is one subordinate id range.
type Range struct{ Start, Count uint32 }

// Parse reads the ranges of user from a subuid/subgid file's contents.
func Parse(content, user string) ([]Range, error) {
	var out []Range
	s := bufio.NewScanner(strings.NewReader(content))
	for n := 1; s.Scan(); n++ {
		line := strings.TrimSpace(s.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) != 3 || f[0] != user {
			continue
		}
		start, err1 := strconv.ParseUint(f[1], 10, 32)
		count, err2 := strconv.ParseUint(f[2], 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("line %d: bad range %q", n, line)
		}
		if start+count > maxID+1 {
			return nil, fmt.Errorf("line %d: range %q goes past the last id, %d", n, line, maxID)
		}
		out = append(out, Range{uint32(start), uint32(count)})
	}
	return out, s.Err()
}

// Ensure returns root's first range of at least Size ids in path, appending LXD's default
// range when root has none. changed reports whether the file was written.
func Ensure(path string) (r Range, changed bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return Range{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	ranges, err := Parse(string(b), "root")
	if err != nil {
		return Range{}, false, fmt.Errorf("%s: %w", path, err)
	}
	for _, r := range ranges {
		if r.Count >= Size {
			return r, false, nil
		}
	}
	r = Range{defaultStart, defaultCount}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return Range{}, false, fmt.Errorf("add root range to %s: %w", path, err)
	}
	prefix := ""
	if len(b) > 0 && !strings.HasSuffix(string(b), "\n") {
		prefix = "\n"
	}
	if _, err := fmt.Fprintf(f, "%sroot:%d:%d\n", prefix, r.Start, r.Count); err != nil {
		f.Close()
		return Range{}, false, fmt.Errorf("add root range to %s: %w", path, err)
	}
	return r, true, f.Close()
}
