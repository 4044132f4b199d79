package profiles

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Schedule is a parsed cron expression (minute hour day-of-month month day-of-week), or one
// of @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually.
type Schedule struct {
	fields [5]map[int]bool
}

var scheduleAliases = map[string]string{
	"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
	"@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}

var cronRanges = [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 6}}

// ParseSchedule reads a snapshots.schedule value.
func ParseSchedule(v string) (Schedule, error) {
	expr := strings.TrimSpace(v)
	if a, ok := scheduleAliases[expr]; ok {
		expr = a
	}
	parts := strings.Fields(expr)
	if len(parts) != 5 {
		return Schedule{}, fmt.Errorf("%q is not a schedule (a cron expression like \"0 6 * * *\", or @hourly, @daily, @weekly, @monthly)", v)
	}
	var s Schedule
	for i, p := range parts {
		set, err := cronField(p, cronRanges[i][0], cronRanges[i][1])
		if err != nil {
			return Schedule{}, fmt.Errorf("%q: field %d (%q): %v", v, i+1, p, err)
		}
		s.fields[i] = set
	}
	return s, nil
}

// cronField parses one field: *, N, A-B, */S, A-B/S, and comma lists of those.
func cronField(f string, lo, hi int) (map[int]bool, error) {
	set := map[int]bool{}
	for _, item := range strings.Split(f, ",") {
		rng, stepStr, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad step %q", stepStr)
			}
			step = n
		}
		a, b := lo, hi
		if rng != "*" {
			as, bs, isRange := strings.Cut(rng, "-")
			var err error
			if a, err = strconv.Atoi(as); err != nil {
				return nil, fmt.Errorf("bad value %q", as)
			}
			b = a
			if isRange {
				if b, err = strconv.Atoi(bs); err != nil {
					return nil, fmt.Errorf("bad value %q", bs)
				}
			}
			if a < lo || b > hi || a > b {
				return nil, fmt.Errorf("%q is outside %d-%d", rng, lo, hi)
			}
		}
		for n := a; n <= b; n += step {
			set[n] = true
		}
	}
	return set, nil
}

// Due reports whether the schedule fires in the minute of t.
func (s Schedule) Due(t time.Time) bool {
	return s.fields[0][t.Minute()] && s.fields[1][t.Hour()] && s.fields[2][t.Day()] &&
		s.fields[3][int(t.Month())] && s.fields[4][int(t.Weekday())]
}

var expiryRe = regexp.MustCompile(`^([0-9]+)(M|H|d|w|m|y)$`)

// ParseExpiry reads a snapshots.expiry value, LXD's "1M 2H 3d 4w 5m 6y" (minutes, hours,
// days, weeks, months, years), and returns when a snapshot taken at t expires.
func ParseExpiry(v string, t time.Time) (time.Time, error) {
	parts := strings.Fields(v)
	if len(parts) == 0 {
		return time.Time{}, fmt.Errorf("%q is not an expiry (examples: 2d, 1w 3d, 6H)", v)
	}
	for _, p := range parts {
		m := expiryRe.FindStringSubmatch(p)
		if m == nil {
			return time.Time{}, fmt.Errorf("%q is not an expiry (examples: 2d, 1w 3d, 6H; units M H d w m y)", v)
		}
		n, err := strconv.Atoi(m[1])
		if err != nil || n > 100000 {
			return time.Time{}, fmt.Errorf("%q: %q is too large", v, p)
		}
		switch m[2] {
		case "M":
			t = t.Add(time.Duration(n) * time.Minute)
		case "H":
			t = t.Add(time.Duration(n) * time.Hour)
		case "d":
			t = t.AddDate(0, 0, n)
		case "w":
			t = t.AddDate(0, 0, 7*n)
		case "m":
			t = t.AddDate(0, n, 0)
		case "y":
			t = t.AddDate(n, 0, 0)
		}
	}
	return t, nil
}

// SnapshotName renders snapshots.pattern: "%d" becomes n (the caller picks the first free
// one); the result must be a valid snapshot name.
func SnapshotName(pattern string, n int) string {
	if pattern == "" {
		pattern = "snap%d"
	}
	return strings.ReplaceAll(pattern, "%d", strconv.Itoa(n))
}

func isSchedule(v string) error { _, err := ParseSchedule(v); return err }

func isExpiry(v string) error { _, err := ParseExpiry(v, time.Now()); return err }

func isPattern(v string) error {
	if err := ValidateSnapshotName(SnapshotName(v, 0)); err != nil {
		return fmt.Errorf("%q does not make valid snapshot names: %v", v, err)
	}
	return nil
}
