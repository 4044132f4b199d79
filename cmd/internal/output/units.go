package output

import (
	"fmt"
	"time"
)

// IEC formats a byte count in binary units as lxc does: "512B", "1.50KiB", "2.00GiB".
func IEC(n int64) string { return scaled(n, 1024, []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}) }

// SI formats a byte count in decimal units: "512B", "1.50kB", "2.00GB".
func SI(n int64) string { return scaled(n, 1000, []string{"kB", "MB", "GB", "TB", "PB", "EB"}) }

func scaled(n int64, base float64, units []string) string {
	if float64(n) < base {
		return fmt.Sprintf("%dB", n)
	}
	v := float64(n)
	for i, u := range units {
		v /= base
		if v < base || i == len(units)-1 {
			return fmt.Sprintf("%.2f%s", v, u)
		}
	}
	return "" // unreachable: the loop returns on its last unit
}

// TimeLayout is how lxc list and lxc info show times.
const TimeLayout = "2006/01/02 15:04 MST"

// Time formats t in loc with TimeLayout, or "" when unset (zero or not after the epoch, as
// LXD's clients treat it).
func Time(t time.Time, loc *time.Location) string {
	if t.IsZero() || t.Unix() <= 0 {
		return ""
	}
	return t.In(loc).Format(TimeLayout)
}
