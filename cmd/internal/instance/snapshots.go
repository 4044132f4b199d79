package instance

import (
	"context"
	"fmt"
	"strings"
	"time"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	"lite/cmd/internal/progress"
)

// writeSnapshots appends an instance's snapshots to lite info: name, when it was taken and
// when it expires.
func writeSnapshots(b *strings.Builder, inst *api.InstanceFull, loc *time.Location) {
	if len(inst.Snapshots) == 0 {
		return
	}
	b.WriteString("\nSnapshots:\n")
	w := len("NAME")
	for _, s := range inst.Snapshots {
		w = max(w, len(s.Name))
	}
	row := func(a, b2, c string) {
		b.WriteString(strings.TrimRight(fmt.Sprintf("  %-*s  %-25s  %s", w, a, b2, c), " ") + "\n")
	}
	row("NAME", "TAKEN AT", "EXPIRES AT")
	for _, s := range inst.Snapshots {
		expires := ""
		if s.ExpiresAt.Unix() > 0 {
			expires = output.Time(s.ExpiresAt, loc)
		}
		row(s.Name, output.Time(s.CreatedAt, loc), expires)
	}
}

// splitSnapshot splits "NAME/SNAP" into its parts; snap is "" for a plain instance name.
func splitSnapshot(arg string) (name, snap string) {
	name, snap, _ = strings.Cut(arg, "/")
	return name, snap
}

// deleteSnapshot deletes one snapshot and waits for it.
func deleteSnapshot(ctx context.Context, ios *cli.IOStreams, c cli.Client, name, snap string) error {
	op, err := c.DeleteInstanceSnapshot(ctx, name, snap)
	if err != nil {
		return err
	}
	_, err = progress.Wait(ctx, ios, op)
	return err
}
