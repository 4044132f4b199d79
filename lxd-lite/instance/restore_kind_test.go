package instance_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/events"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/instance"
	"lite/lxd-lite/instance/instancetest"
	"lite/lxd-lite/storage"
)

// stopFails is the fake runtime with a Stop that answers stopErr; first it stops the
// container when stopFirst is set (the container ended by itself as the stop came).
type stopFails struct {
	*instancetest.Runtime
	stopErr   error
	stopFirst bool
}

func (r *stopFails) Stop(ctx context.Context, name string, opts instance.StopOptions) error {
	if r.stopFirst {
		if err := r.Runtime.Stop(ctx, name, opts); err != nil {
			return err
		}
	}
	return r.stopErr
}

// runningWithSnapshot returns a manager on rt with instance c1 running and its snapshot s0.
func runningWithSnapshot(t *testing.T, rt instance.Runtime) *instance.Manager {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	database, err := db.Open(ctx, filepath.Join(dir, "lite.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = database.Close() })
	const fp = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	err = database.CreateImage(ctx, db.Image{Fingerprint: fp, Filename: "i.tar.xz", Size: 1, Architecture: "x86_64",
		Type: "container", Properties: map[string]string{}, CreatedAt: time.Now(), UploadedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	pool := filepath.Join(dir, "containers")
	if err := os.Mkdir(pool, 0o755); err != nil {
		t.Fatal(err)
	}
	svc := instance.New(instance.Config{
		DB: database, Runtime: rt, Pool: &storage.Pool{Dir: pool, Driver: storage.Dir},
		Images: &instancetest.Images{DB: database, Dir: filepath.Join(dir, "images")}, Hub: events.NewHub(),
		IDMap: idmap.Map{UID: 100000, GID: 100000, Size: 65536}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	req := api.InstancesPost{Name: "c1", Source: api.InstanceSource{Type: "image", Fingerprint: fp}}
	m := svc.Instances
	if _, err := m.Create(ctx, req, nil); err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Snapshots.Snapshot(ctx, "c1", api.InstanceSnapshotsPost{Name: "s0"}); err != nil {
		t.Fatal(err)
	}
	return m
}

// Restore stops a running instance first and lets only "not running" from that stop pass:
// the instance ended by itself meanwhile. Any other error of the stop, even one of kind
// ErrInvalid, fails the restore with that error.
func TestRestoreStopErrors(t *testing.T) {
	refused := fmt.Errorf("stop refused: %w", api.ErrInvalid)
	tests := []struct {
		name      string
		rt        *stopFails
		wantErr   error // nil: the restore succeeds and the instance runs again
		wantStops int
	}{
		{"stopped meanwhile", &stopFails{stopErr: fmt.Errorf("instance %q is not running: %w", "c1", api.ErrNotRunning), stopFirst: true}, nil, 1},
		{"stop refused", &stopFails{stopErr: refused}, refused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.rt.Runtime = instancetest.NewRuntime()
			t.Cleanup(tt.rt.KillAll)
			m := runningWithSnapshot(t, tt.rt)
			err := m.Restore(context.Background(), "c1", "s0")
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("Restore() = %v, want %v", err, tt.wantErr)
			}
			st, err := tt.rt.State(context.Background(), "c1")
			if err != nil || !st.Running {
				t.Errorf("c1 after the restore: %+v, %v; want it running", st, err)
			}
			if got := len(tt.rt.Stops()); got != tt.wantStops {
				t.Errorf("%d stops reached the fake, want %d", got, tt.wantStops)
			}
		})
	}
}
