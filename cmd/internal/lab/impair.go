package lab

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"lite/client"
	"lite/client/api"
	labfile "lite/profiles/lab"
)

// RunImpair sets netem on both ends of the link at NODE:IFACE (both directions), or clears
// it when no key=value is given. The next up sets the file's impairment again.
func RunImpair(ctx context.Context, opts *Options, end string, args []string) error {
	l, err := labfile.Load(opts.File)
	if err != nil {
		return fileErrors(opts, err)
	}
	im, err := labfile.ParseImpair(args)
	if err != nil {
		return err
	}
	var link *labfile.Link
	for i, lk := range l.Links {
		for _, e := range lk.Ends {
			if e.Node+":"+e.Iface == end {
				link = &l.Links[i]
			}
		}
	}
	if link == nil {
		return fmt.Errorf("%q is not an end of a link of lab %s (NODE:IFACE, as in links:): %w", end, l.Name, api.ErrNotFound)
	}
	_, ex, err := opts.execClient()
	if err != nil {
		return err
	}
	for _, e := range link.Ends {
		cmd := []string{"tc", "qdisc", "replace", "dev", e.Iface, "root", "netem"}
		if im.IsZero() {
			cmd = []string{"sh", "-c", "tc qdisc del dev " + e.Iface + " root 2>/dev/null; true"}
		} else {
			cmd = append(cmd, im.NetemArgs()...)
		}
		var out bytes.Buffer
		code, err := ex.ExecInstance(ctx, e.Node, api.InstanceExecPost{Command: cmd}, client.ExecArgs{Stdout: &out, Stderr: &out})
		if err != nil {
			return fmt.Errorf("node %s: %w", e.Node, err)
		}
		if code != 0 && labfile.NetemMissing(out.String()) {
			return fmt.Errorf("node %s: %s: %w", e.Node, labfile.NoNetem, api.ErrUnavailable)
		}
		if code != 0 {
			return fmt.Errorf("node %s: %s exited with %d: %s", e.Node, strings.Join(cmd, " "), code, strings.TrimSpace(out.String()))
		}
	}
	what := "cleared"
	if !im.IsZero() {
		what = strings.Join(im.NetemArgs(), " ")
	}
	fmt.Fprintf(opts.IO.Out, "link %s:%s-%s:%s: %s (both directions)\n", link.Ends[0].Node, link.Ends[0].Iface,
		link.Ends[1].Node, link.Ends[1].Iface, what)
	return nil
}
