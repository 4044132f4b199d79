// Package lab holds the `lite lab` commands: up, diff, status, list and down.
package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	labfile "lite/profiles/lab"
)

// Client is the part of the API the lab commands use; *client.Client satisfies it.
type Client interface {
	GetLabs(ctx context.Context) ([]api.Lab, error)
	GetLab(ctx context.Context, name string) (*api.Lab, error)
	PlanLab(ctx context.Context, req api.LabsPost) (*api.LabPlan, error)
	UpLab(ctx context.Context, req api.LabsPost) (*client.Operation, error)
	DownLab(ctx context.Context, name string) (*client.Operation, error)
	Snapshotter
	Execer
	Capturer
}

var _ Client = (*client.Client)(nil)

// Options are what every lab command gets.
type Options struct {
	IO     *cli.IOStreams
	Client func() (Client, error)
	// File is the lab file (-f), lab.yaml by default.
	File string
}

// FromFactory takes the factory's typed API client.
func FromFactory(f *cli.Factory) *Options {
	return &Options{IO: f.IO, Client: func() (Client, error) { return f.API() }}
}

// NewCmdLab returns the `lite lab` command group.
func NewCmdLab(opts *Options) *cobra.Command {
	cmd := &cobra.Command{Use: "lab", Short: "Bring up and manage labs of nodes described in one file",
		Args: cli.ExactArgs(0), RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.PersistentFlags().StringVarP(&opts.File, "file", "f", "lab.yaml", "the lab file")
	var only, recreate []string
	var prune, check bool
	up := &cobra.Command{Use: "up", Short: "Create or converge the lab; returns when every node is ready", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := RunUp(cmd.Context(), opts, upOptions{only: only, recreate: recreate, prune: prune}); err != nil || !check {
				return err
			}
			return RunCheck(cmd.Context(), opts)
		}}
	up.Flags().BoolVar(&check, "check", false, "run the file's checks once the lab is up")
	up.Flags().StringSliceVar(&only, "only", nil, "only these nodes (and what they depend on)")
	up.Flags().BoolVar(&prune, "prune", false, "delete nodes the file no longer has")
	up.Flags().StringSliceVar(&recreate, "recreate", nil, "delete these nodes and make and provision them again (applies nic and image edits)")
	var statusFormat, listFormat output.Format
	status := &cobra.Command{Use: "status [NAME]", Short: "Show a lab's nodes, addresses and resource use", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunStatus(cmd.Context(), opts, args, statusFormat)
		}}
	output.AddFormatFlag(status, &statusFormat)
	list := &cobra.Command{Use: "list", Aliases: []string{"ls"}, Short: "List labs", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return RunList(cmd.Context(), opts, listFormat) }}
	output.AddFormatFlag(list, &listFormat)
	diff := &cobra.Command{Use: "diff", Short: "Show what up would change, changing nothing", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return RunDiff(cmd.Context(), opts, prune) }}
	diff.Flags().BoolVar(&prune, "prune", false, "plan as up --prune would")
	down := &cobra.Command{Use: "down [NAME]", Short: "Remove every object of the lab, and nothing else", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error { return RunDown(cmd.Context(), opts, args) }}
	exec := &cobra.Command{Use: "exec NAME|GROUP|NODE,... -- COMMAND...", Short: "Run a command on nodes in parallel, output prefixed", Args: cli.MinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return RunExec(cmd.Context(), opts, args[0], args[1:]) }}
	var invFormat string
	inventory := &cobra.Command{Use: "inventory [NAME]", Short: "Print an Ansible inventory of the lab", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunInventory(cmd.Context(), opts, args, invFormat)
		}}
	inventory.Flags().StringVar(&invFormat, "format", "ini", "ini or yaml")
	sshConfig := &cobra.Command{Use: "ssh-config [NAME]", Short: "Print an OpenSSH config block per node", Args: cli.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error { return RunSSHConfig(cmd.Context(), opts, args) }}
	ssh := &cobra.Command{Use: "ssh NODE [COMMAND...]", Short: "ssh into a node of the lab in the lab file", Args: cli.MinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return RunSSH(cmd.Context(), opts, args[0], args[1:]) }}
	var graphFormat string
	graph := &cobra.Command{Use: "graph", Short: "Draw the lab file's nodes, networks and links", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return RunGraph(opts, graphFormat) }}
	graph.Flags().StringVar(&graphFormat, "format", "dot", "dot, mermaid or svg")
	checkCmd := &cobra.Command{Use: "check", Short: "Run the lab file's ping and tcp checks, one line each", Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return RunCheck(cmd.Context(), opts) }}
	impair := &cobra.Command{Use: "impair NODE:IFACE [delay=..] [jitter=..] [loss=..] [rate=..]", Short: "Change or clear a link's impairment live (no values: clear)",
		Args: cli.MinArgs(1), RunE: func(cmd *cobra.Command, args []string) error {
			return RunImpair(cmd.Context(), opts, args[0], args[1:])
		}}
	snapshot := &cobra.Command{Use: "snapshot NAME [SNAPSHOT]", Short: "Snapshot every node of a lab at one point (freeze all, snapshot, thaw)", Args: cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunSnapshot(cmd.Context(), opts, args[0], append(args, "")[1])
		}}
	restore := &cobra.Command{Use: "restore NAME SNAPSHOT", Short: "Bring every node of a lab back to a lab snapshot", Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunRestore(cmd.Context(), opts, args[0], args[1])
		}}
	reset := &cobra.Command{Use: "reset NAME", Short: "Bring every node back to the state right after provisioning", Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return RunRestore(cmd.Context(), opts, args[0], api.LabProvisioned)
		}}
	cmd.AddCommand(up, diff, status, list, down, exec, inventory, sshConfig, ssh, graph, checkCmd, impair, snapshot, restore, reset, newCmdCapture(opts))
	return cmd
}

// fileErrors prints each problem of a lab file on its own line (the CLI's error printer joins
// lines) and returns an exit status; other errors are returned as they are.
func fileErrors(opts *Options, err error) error {
	var es labfile.Errors
	if !errors.As(err, &es) {
		return err
	}
	for _, e := range es {
		fmt.Fprintf(opts.IO.ErrOut, "Error: %s\n", e)
	}
	return &cli.ExitError{Code: 1}
}

// labName is NAME when given, else the name in the lab file.
func labName(opts *Options, args []string) (string, error) {
	if len(args) == 1 {
		return args[0], nil
	}
	l, err := labfile.Load(opts.File)
	if err != nil {
		return "", fileErrors(opts, err)
	}
	return l.Name, nil
}

// upOptions are lab up's flags.
type upOptions struct {
	only, recreate []string
	prune          bool
}

// RunUp sends the lab, shows each node's progress and prints the status table.
func RunUp(ctx context.Context, opts *Options, o upOptions) error {
	l, req, err := request(opts.File)
	if err != nil {
		return fileErrors(opts, err)
	}
	req.Only, req.Recreate, req.Prune = o.only, o.recreate, o.prune
	c, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := c.UpLab(ctx, req)
	if err != nil {
		return err
	}
	seen := map[string]string{}
	_, werr := cli.WrapOperation(op).Wait(ctx, func(md map[string]any) {
		keys := make([]string, 0, len(md))
		for k := range md {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			node, ok := strings.CutPrefix(k, "node.")
			msg, _ := md[k].(string)
			if ok && seen[node] != msg {
				seen[node] = msg
				fmt.Fprintf(opts.IO.ErrOut, "%-12s %s\n", node, msg)
			}
		}
	})
	if err := printStatus(ctx, opts, c, l.Name, output.Table); err != nil && werr == nil {
		return err
	}
	if werr != nil {
		// Each node's error keeps its lines (a failed run step's output tail).
		fmt.Fprintf(opts.IO.ErrOut, "Error: lab %s is not complete:\n%s\n", l.Name, werr)
		return &cli.ExitError{Code: 1}
	}
	return nil
}

// RunDiff prints what up would change.
func RunDiff(ctx context.Context, opts *Options, prune bool) error {
	_, req, err := request(opts.File)
	if err != nil {
		return fileErrors(opts, err)
	}
	req.Prune = prune
	c, err := opts.Client()
	if err != nil {
		return err
	}
	plan, err := c.PlanLab(ctx, req)
	if err != nil {
		return err
	}
	changes := 0
	for _, ch := range plan.Changes {
		mark := map[string]string{"create": "+", "delete": "-", "update": "~", "recreate": "*", "keep": "=", "skip": "!"}[ch.Action]
		if ch.Action != "keep" {
			changes++ // a skip too: the lab differs from its file
		}
		line := fmt.Sprintf("%s %s %s", mark, ch.Kind, ch.Name)
		if ch.Detail != "" {
			line += " (" + ch.Detail + ")"
		}
		fmt.Fprintln(opts.IO.Out, line)
	}
	if changes == 0 {
		fmt.Fprintf(opts.IO.Out, "lab %s is up to date\n", plan.Name)
	}
	return nil
}

// RunStatus prints a lab's nodes.
func RunStatus(ctx context.Context, opts *Options, args []string, format output.Format) error {
	name, err := labName(opts, args)
	if err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	return printStatus(ctx, opts, c, name, format)
}

func printStatus(ctx context.Context, opts *Options, c Client, name string, format output.Format) error {
	l, err := c.GetLab(ctx, name)
	if err != nil {
		return err
	}
	data := output.Data{Header: []string{"NODE", "STATE", "PROVISIONED", "IPV4", "GROUPS", "CPU", "MEMORY", "SSH"}, Raw: l}
	// In a cluster, as lite list does, a LOCATION column says which member runs each node.
	clustered := slices.ContainsFunc(l.Nodes, func(n api.LabNode) bool { return n.Location != "" })
	if clustered {
		data.Header = append(data.Header, "LOCATION")
	}
	for _, n := range l.Nodes {
		var addrs []string
		for iface, a := range n.Addresses {
			addrs = append(addrs, a+" ("+iface+")")
		}
		sort.Strings(addrs)
		prov := "yes"
		if !n.Provisioned {
			prov = "no"
		}
		ssh := ""
		if a := n.Addresses["eth0"]; a != "" {
			ssh = "ssh root@" + a
		}
		row := []string{n.Name, strings.ToUpper(n.Status), prov, strings.Join(addrs, "\n"),
			strings.Join(n.Groups, ","), fmt.Sprintf("%.2fs", float64(n.CPUUsageNs)/1e9), output.IEC(n.MemoryUsage), ssh}
		if clustered {
			row = append(row, n.Location)
		}
		data.Rows = append(data.Rows, row)
	}
	return output.Print(opts.IO.Out, format, data)
}

// RunList prints every lab.
func RunList(ctx context.Context, opts *Options, format output.Format) error {
	c, err := opts.Client()
	if err != nil {
		return err
	}
	labs, err := c.GetLabs(ctx)
	if err != nil {
		return err
	}
	data := output.Data{Header: []string{"NAME", "STATUS", "NODES", "NETWORKS", "CREATED AT"}, Raw: labs}
	for _, l := range labs {
		data.Rows = append(data.Rows, []string{l.Name, strings.ToUpper(l.Status), fmt.Sprint(len(l.Nodes)),
			strings.Join(l.Networks, ","), output.Time(l.CreatedAt, time.Local)})
	}
	return output.Print(opts.IO.Out, format, data)
}

// RunDown removes a lab.
func RunDown(ctx context.Context, opts *Options, args []string) error {
	name, err := labName(opts, args)
	if err != nil {
		return err
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	op, err := c.DownLab(ctx, name)
	if err == nil {
		_, err = cli.WrapOperation(op).Wait(ctx, nil)
	}
	if errors.Is(err, api.ErrNotFound) {
		return fmt.Errorf("no lab %q here (lite lab list shows the labs): %w", name, err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Lab %s removed\n", name)
	return nil
}

// RunGraph prints a picture of the lab file; it needs no daemon.
func RunGraph(opts *Options, format string) error {
	l, err := labfile.Load(opts.File)
	if err != nil {
		return fileErrors(opts, err)
	}
	out, err := Graph(l, format)
	if err != nil {
		return err
	}
	_, err = fmt.Fprint(opts.IO.Out, out)
	return err
}
