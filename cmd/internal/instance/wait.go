package instance

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	labfile "lite/profiles/lab"
)

// readyTimeout bounds `launch --wait`.
const readyTimeout = 3 * time.Minute

// waitReady polls the instance until it is ready as labs define it: systemd running or
// degraded, sshd listening, and an IPv4 address on eth0 when it has a nic eth0.
func waitReady(ctx context.Context, ios *cli.IOStreams, c cli.Client, name string) error {
	inst, err := c.GetInstance(ctx, name)
	if err != nil {
		return err
	}
	var ifaces []string
	if dev, ok := inst.ExpandedDevices["eth0"]; ok && dev["type"] == "nic" {
		ifaces = []string{"eth0"}
	}
	script := labfile.ReadyScript(ifaces)
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	why := ""
	for {
		var out bytes.Buffer
		code, err := c.ExecInstance(ctx, name, api.InstanceExecPost{Command: []string{"sh", "-c", script}},
			client.ExecArgs{Stdout: &out, Stderr: &out})
		if err == nil && code == 0 {
			_, _ = fmt.Fprintf(ios.Out, "Instance %s is ready\n", name)
			return nil
		}
		why = strings.TrimSpace(out.String())
		if err != nil {
			why = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("instance %s is not ready after %s: %s: %w", name, readyTimeout, why, api.ErrUnavailable)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
