package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	labfile "lite/profiles/lab"
)

// targetAddr is where from reaches node target: its address on a network they share, else
// the address the host reaches it on.
func targetAddr(l *labfile.Lab, live *api.Lab, from, target string) string {
	if a, err := netip.ParseAddr(target); err == nil {
		return a.String()
	}
	var liveNode api.LabNode
	for _, n := range live.Nodes {
		if n.Name == target {
			liveNode = n
		}
	}
	nets := map[string]bool{}
	for _, nic := range l.Node(from).NICs {
		nets[nic.Network] = true
	}
	for _, nic := range l.Node(target).NICs {
		if nets[nic.Network] && liveNode.Addresses[nic.Name] != "" {
			return liveNode.Addresses[nic.Name]
		}
	}
	return hostOf(liveNode)
}

// RunCheck runs the file's checks, one line each; any failure makes the exit status 1.
func RunCheck(ctx context.Context, opts *Options) error {
	l, err := labfile.Load(opts.File)
	if err != nil {
		return fileErrors(opts, err)
	}
	c, ex, err := opts.execClient()
	if err != nil {
		return err
	}
	live, err := c.GetLab(ctx, l.Name)
	if err != nil {
		return err
	}
	failed := 0
	for _, chk := range l.Checks {
		what, cmd := checkCommand(l, live, chk)
		var out bytes.Buffer
		code, err := ex.ExecInstance(ctx, chk.From, api.InstanceExecPost{Command: cmd}, client.ExecArgs{Stdout: &out, Stderr: &out})
		if err == nil && code == 0 {
			fmt.Fprintf(opts.IO.Out, "ok    %s\n", what)
			continue
		}
		failed++
		why := fmt.Sprintf("exit %d", code)
		if err != nil {
			why = err.Error()
		}
		fmt.Fprintf(opts.IO.Out, "FAIL  %s: %s\n", what, why)
	}
	if failed > 0 {
		fmt.Fprintf(opts.IO.ErrOut, "Error: %d of %d checks failed\n", failed, len(l.Checks))
		return &cli.ExitError{Code: 1}
	}
	return nil
}

// checkCommand is a check's one-line description and the command its from node runs.
func checkCommand(l *labfile.Lab, live *api.Lab, chk labfile.Check) (string, []string) {
	if chk.Ping != "" {
		a := targetAddr(l, live, chk.From, chk.Ping)
		return fmt.Sprintf("%s ping %s (%s)", chk.From, chk.Ping, a), []string{"ping", "-c", "1", "-W", "2", a}
	}
	host, port, _ := net.SplitHostPort(chk.TCP) // validated with the file
	a := targetAddr(l, live, chk.From, host)
	return fmt.Sprintf("%s tcp %s (%s:%s)", chk.From, chk.TCP, a, port),
		[]string{"timeout", "3", "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%s", a, port)}
}
