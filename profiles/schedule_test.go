package profiles

import (
	"testing"
	"time"
)

func TestSchedule(t *testing.T) {
	at := time.Date(2026, 3, 2, 6, 30, 0, 0, time.UTC) // a Monday
	for expr, want := range map[string]bool{
		"@hourly": false, "30 * * * *": true, "*/15 6 * * 1": true, "0-29 * * * *": false,
		"30 6 2 3 *": true, "30 6 * * 0,6": false, "@daily": false, "30 5-7 * * *": true,
	} {
		s, err := ParseSchedule(expr)
		if err != nil {
			t.Fatalf("%q: %v", expr, err)
		}
		if got := s.Due(at); got != want {
			t.Errorf("%q due at %v: %v, want %v", expr, at, got, want)
		}
	}
	for _, bad := range []string{"", "* * * *", "61 * * * *", "*/0 * * * *", "a * * * *", "@often", "5-1 * * * *"} {
		if _, err := ParseSchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestExpiryAndPattern(t *testing.T) {
	at := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	got, err := ParseExpiry("1w 2d 3H", at)
	if err != nil || !got.Equal(at.Add(9*24*time.Hour+3*time.Hour)) {
		t.Errorf("expiry: %v %v", got, err)
	}
	for _, bad := range []string{"", "2", "2x", "-1d", "1d x"} {
		if _, err := ParseExpiry(bad, at); err == nil {
			t.Errorf("expiry %q accepted", bad)
		}
	}
	if SnapshotName("", 3) != "snap3" || SnapshotName("auto-%d", 1) != "auto-1" {
		t.Errorf("pattern rendering")
	}
	for k, v := range map[string]string{"snapshots.pattern": "a/%d", "snapshots.expiry": "soon", "snapshots.schedule": "daily"} {
		if err := ValidateInstanceKey(k, v, true); err == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
	for k, v := range map[string]string{"snapshots.pattern": "auto-%d", "snapshots.expiry": "2d", "snapshots.schedule": "@hourly", "snapshots.schedule.stopped": "true"} {
		if err := ValidateInstanceKey(k, v, true); err != nil {
			t.Errorf("%s=%q: %v", k, v, err)
		}
	}
}
