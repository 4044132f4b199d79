package lab

import (
	"context"
	"fmt"
	"time"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// Snapshotter is the part of the API lab snapshots use; *client.Client satisfies it.
type Snapshotter interface {
	SnapshotLab(ctx context.Context, name, snap string) (*client.Operation, error)
	RestoreLab(ctx context.Context, name, snap string) (*client.Operation, error)
}

// RunSnapshot snapshots every node of a lab (default name: the time).
func RunSnapshot(ctx context.Context, opts *Options, name, snap string) error {
	if snap == "" {
		snap = "snap-" + time.Now().UTC().Format("20060102-150405")
	}
	sn, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := sn.SnapshotLab(ctx, name, snap)
	if err == nil {
		_, err = cli.WrapOperation(op).Wait(ctx, nil)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Lab %s: snapshot %s taken\n", name, snap)
	return nil
}

// RunRestore brings every node of a lab back to snap; reset is a restore of "provisioned".
func RunRestore(ctx context.Context, opts *Options, name, snap string) error {
	sn, err := opts.Client()
	if err != nil {
		return err
	}
	start := time.Now()
	op, err := sn.RestoreLab(ctx, name, snap)
	if err == nil {
		_, err = cli.WrapOperation(op).Wait(ctx, nil)
	}
	if err != nil {
		return err
	}
	what := "restored to " + snap
	if snap == api.LabProvisioned {
		what = "reset to the state right after provisioning"
	}
	fmt.Fprintf(opts.IO.Out, "Lab %s %s in %.1fs\n", name, what, time.Since(start).Seconds())
	return nil
}
