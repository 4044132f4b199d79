package instance

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/progress"
	"lite/cmd/internal/remote"
)

// CreateOptions are the inputs of lite launch and lite init.
type CreateOptions struct {
	IO     *cli.IOStreams
	Client func() (cli.Client, error)

	Image      string
	Name       string // "" lets the server pick one
	Config     []string
	Profiles   []string
	NoProfiles bool
	Ephemeral  bool
	Network    string // eth0 on this network instead of the profiles' nic
	Start      bool   // launch: start it once created
	Wait       bool   // launch --wait: return once it is ready (systemd, sshd, eth0's IPv4)
	Target     string // cluster member to create it on ("" lets the cluster place it)
}

// NewCmdLaunch returns `lite launch`; runF replaces RunCreate in tests.
func NewCmdLaunch(f *cli.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	return newCreateCmd(f, runF, true)
}

// NewCmdInit returns `lite init`; runF replaces RunCreate in tests.
func NewCmdInit(f *cli.Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	return newCreateCmd(f, runF, false)
}

func newCreateCmd(f *cli.Factory, runF func(context.Context, *CreateOptions) error, start bool) *cobra.Command {
	opts := &CreateOptions{IO: f.IO, Client: f.Client, Start: start}
	cmd := &cobra.Command{
		Use:   "init IMAGE [NAME]",
		Short: "Create an instance from an image",
		Long: "Create an instance from an image (an alias such as debian/12, or a fingerprint).\n" +
			"The daemon builds or fetches the image when it does not have it yet.",
		Example: "  lite init debian/12 web1 -c limits.memory=512MiB",
		Args:    cli.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Client, opts.Image = f.For(args[0])
			if len(args) > 1 {
				opts.Name = args[1]
			}
			if runF != nil {
				return runF(cmd.Context(), opts)
			}
			return RunCreate(cmd.Context(), opts)
		},
	}
	if start {
		cmd.Use = "launch IMAGE [NAME]"
		cmd.Short = "Create and start an instance from an image"
		cmd.Example = "  lite launch debian/12 web1\n  lite launch debian/12 -p default -p big -c user.role=db"
		cmd.Flags().BoolVar(&opts.Wait, "wait", false, "return once systemd is running (or degraded), sshd listens and eth0 has an IPv4 address")
	}
	cmd.Flags().StringArrayVarP(&opts.Config, "config", "c", nil, "config key=value for the new instance (repeatable)")
	cmd.Flags().StringArrayVarP(&opts.Profiles, "profile", "p", nil, "profile to apply (repeatable; default: the default profile)")
	cmd.Flags().BoolVar(&opts.NoProfiles, "no-profiles", false, "create the instance with no profile")
	cmd.Flags().BoolVarP(&opts.Ephemeral, "ephemeral", "e", false, "delete the instance when it stops")
	cmd.Flags().StringVarP(&opts.Network, "network", "n", "", "put eth0 on this network")
	cmd.Flags().StringVar(&opts.Target, "target", "", "cluster member to create the instance on (default: the member with the fewest instances)")
	return cmd
}

// RunCreate creates the instance and, for launch, starts it.
func RunCreate(ctx context.Context, opts *CreateOptions) error {
	if opts.NoProfiles && len(opts.Profiles) > 0 {
		return errors.New("--no-profiles cannot be combined with --profile")
	}
	config, err := parseKeyValues("config", opts.Config)
	if err != nil {
		return err
	}
	// nil profiles means "the default profile" to the server, an empty list means none.
	var profiles []string
	switch {
	case opts.NoProfiles:
		profiles = []string{}
	case len(opts.Profiles) > 0:
		profiles = opts.Profiles
	}
	devices := map[string]map[string]string{}
	if opts.Network != "" {
		devices["eth0"] = map[string]string{"type": "nic", "network": opts.Network, "name": "eth0"}
	}
	c, err := opts.Client()
	if err != nil {
		return err
	}
	if opts.Target != "" {
		c = c.UseTarget(opts.Target)
	}
	res, err := remote.ResolveSource(ctx, opts.Image, remote.LocalImage(ctx, c.GetImages))
	if err != nil {
		return err
	}

	out := opts.IO.Out
	if opts.Name != "" {
		_, _ = fmt.Fprintf(out, "Creating %s\n", opts.Name)
	} else {
		_, _ = fmt.Fprintln(out, "Creating the instance")
	}
	op, err := c.CreateInstance(ctx, api.InstancesPost{
		Name:   opts.Name,
		Type:   "container",
		Source: res.Source,
		InstancePut: api.InstancePut{
			Config: config, Devices: devices,
			Profiles: profiles, Ephemeral: opts.Ephemeral,
		},
	})
	if err != nil {
		return res.Explain(err)
	}
	final, err := progress.Wait(ctx, opts.IO, op)
	if err != nil {
		return res.Explain(err)
	}
	name := opts.Name
	if name == "" {
		if name, err = nameFromResources(final); err != nil {
			return err
		}
		_, _ = fmt.Fprintf(out, "Instance name is: %s\n", name)
	}
	if !opts.Start {
		return nil
	}
	_, _ = fmt.Fprintf(out, "Starting %s\n", name)
	if err := changeState(ctx, opts.IO, c, name, api.InstanceStatePut{Action: "start", Timeout: -1}); err != nil {
		if ctx.Err() != nil {
			return err // interrupted: the start may still go on in the daemon
		}
		// As LXD does, the instance stays, whole and stopped: say so and what to do with it.
		return fmt.Errorf("%s was created but did not start: %w (it is stopped: fix the cause and `lite start %s`, or `lite delete %s`)", name, err, name, name)
	}
	if !opts.Wait {
		return nil
	}
	return waitReady(ctx, opts.IO, c, name)
}

// changeState sends a state change and waits for it.
func changeState(ctx context.Context, ios *cli.IOStreams, c cli.Client, name string, req api.InstanceStatePut) error {
	op, err := c.UpdateInstanceState(ctx, name, req)
	if err != nil {
		return err
	}
	_, err = progress.Wait(ctx, ios, op)
	return err
}
