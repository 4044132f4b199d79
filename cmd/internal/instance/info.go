package instance

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// InfoOptions are the inputs of lite info.
type InfoOptions struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)

	Name     string         // "" shows the server
	Location *time.Location // for times; time.Local when nil
}

// NewCmdInfo returns `lite info`; runF replaces RunInfo in tests.
func NewCmdInfo(f *cli.Factory, runF func(context.Context, *InfoOptions) error) *cobra.Command {
	opts := &InfoOptions{IO: f.IO, Client: f.Client}
	return &cobra.Command{
		Use:   "info [NAME]",
		Short: "Show an instance's details and resource use, or the server's",
		Args:  cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Client, opts.Name = f.For(args[0])
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunInfo(cmd.Context(), opts)
		},
	}
}

// RunInfo prints the server as YAML, or one instance in lxc's info layout.
func RunInfo(ctx context.Context, opts *InfoOptions) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if opts.Name == "" {
		srv, err := c.GetServer(ctx)
		if err != nil {
			return err
		}
		return output.PrintYAML(opts.IO.Out, srv)
	}
	inst, err := c.GetInstance(ctx, opts.Name)
	if err != nil {
		return err
	}
	loc := opts.Location
	if loc == nil {
		loc = time.Local
	}
	var b strings.Builder
	writeInstanceInfo(&b, inst, loc)
	_, err = io.WriteString(opts.IO.Out, b.String())
	return err
}

// writeInstanceInfo renders the header fields, then the resources of an active instance.
func writeInstanceInfo(b *strings.Builder, inst *api.InstanceFull, loc *time.Location) {
	line := func(indent int, format string, args ...any) {
		b.WriteString(strings.Repeat("  ", indent))
		fmt.Fprintf(b, format+"\n", args...)
	}
	defer writeSnapshots(b, inst, loc)
	kind := typeName(inst)
	if inst.Ephemeral {
		kind += " (ephemeral)"
	}
	line(0, "Name: %s", inst.Name)
	line(0, "Status: %s", strings.ToUpper(inst.Status))
	line(0, "Type: %s", kind)
	line(0, "Architecture: %s", inst.Architecture)
	if inst.State != nil && inst.State.Pid > 0 {
		line(0, "PID: %d", inst.State.Pid)
	}
	line(0, "Created: %s", output.Time(inst.CreatedAt, loc))
	line(0, "Last Used: %s", output.Time(inst.LastUsedAt, loc))
	if image := imageText(inst); image != "" {
		line(0, "Image: %s", image)
	}
	if inst.State == nil || !isActive(inst) {
		return
	}
	st := inst.State
	line(0, "")
	line(0, "Resources:")
	line(1, "Processes: %d", st.Processes)
	if len(st.Disk) > 0 {
		line(1, "Disk usage:")
		for _, name := range sortedKeys(st.Disk, "root") {
			line(2, "%s: %s", name, output.IEC(st.Disk[name].Usage))
		}
	}
	line(1, "CPU usage:")
	line(2, "CPU usage (in seconds): %d", st.CPU.Usage/int64(time.Second))
	line(1, "Memory usage:")
	line(2, "Memory (current): %s", output.IEC(st.Memory.Usage))
	line(2, "Memory (peak): %s", output.IEC(st.Memory.UsagePeak))
	if st.Memory.SwapUsage > 0 || st.Memory.SwapUsagePeak > 0 {
		line(2, "Swap (current): %s", output.IEC(st.Memory.SwapUsage))
		line(2, "Swap (peak): %s", output.IEC(st.Memory.SwapUsagePeak))
	}
	if len(st.Network) == 0 {
		return
	}
	line(1, "Network usage:")
	for _, name := range sortedKeys(st.Network, "") {
		nic := st.Network[name]
		line(2, "%s:", name)
		line(3, "Type: %s", nic.Type)
		if nic.State != "" {
			line(3, "State: %s", strings.ToUpper(nic.State))
		}
		if nic.HostName != "" {
			line(3, "Host interface: %s", nic.HostName)
		}
		if nic.Hwaddr != "" {
			line(3, "MAC address: %s", nic.Hwaddr)
		}
		if nic.Mtu > 0 {
			line(3, "MTU: %d", nic.Mtu)
		}
		line(3, "Bytes received: %s", output.SI(nic.Counters.BytesReceived))
		line(3, "Bytes sent: %s", output.SI(nic.Counters.BytesSent))
		line(3, "Packets received: %d", nic.Counters.PacketsReceived)
		line(3, "Packets sent: %d", nic.Counters.PacketsSent)
		if len(nic.Addresses) > 0 {
			line(3, "IP addresses:")
			for _, a := range nic.Addresses {
				line(4, "%-6s %s/%s (%s)", a.Family+":", a.Address, a.Netmask, a.Scope)
			}
		}
	}
}

// imageText describes the image an instance was made from: its description and short
// fingerprint, from image.description and volatile.base_image.
func imageText(inst *api.InstanceFull) string {
	config := inst.ExpandedConfig
	if config == nil {
		config = inst.Config
	}
	fp, desc := config["volatile.base_image"], config["image.description"]
	if len(fp) > 12 {
		fp = fp[:12]
	}
	switch {
	case desc != "" && fp != "":
		return fmt.Sprintf("%s (%s)", desc, fp)
	case desc != "":
		return desc
	}
	return fp
}

// sortedKeys returns a map's keys in order, with first (if present) in front.
func sortedKeys[V any](m map[string]V, first string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(x, y int) bool {
		if (keys[x] == first) != (keys[y] == first) {
			return keys[x] == first
		}
		return keys[x] < keys[y]
	})
	return keys
}
