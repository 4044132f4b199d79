// Package config holds the commands that edit config and devices: `lite config ...` for an
// instance or a server, and `lite profile ...` for profiles. They work on a target (an
// instance or a profile) loaded from the API, changed locally and written back whole with PUT,
// as lxc does. Every command is an options struct, a NewCmdX(f, runF) that fills it from the
// command line, and a RunX that does the work (what the tests call).
package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
	"lite/cmd/internal/progress"
)

// Client is the part of the API these commands use; *client.Client satisfies it.
type Client interface {
	TargetClient
	ServerClient
}

// TargetClient is the part of the API that reads and writes instances and profiles.
type TargetClient interface {
	GetInstance(ctx context.Context, name string) (*api.InstanceFull, error)
	UpdateInstance(ctx context.Context, name string, put api.InstancePut) (*client.Operation, error)
	GetProfiles(ctx context.Context) ([]api.Profile, error)
	GetProfile(ctx context.Context, name string) (*api.Profile, error)
	CreateProfile(ctx context.Context, p api.ProfilesPost) error
	UpdateProfile(ctx context.Context, name string, p api.ProfilePut) error
	RenameProfile(ctx context.Context, name, newName string) error
	DeleteProfile(ctx context.Context, name string) error
}

// ServerClient is the part of the API that reads and writes a server's config and trust.
type ServerClient interface {
	GetServer(ctx context.Context) (*api.Server, error)
	UpdateServer(ctx context.Context, put api.ServerPut) error
	GetCertificates(ctx context.Context) ([]api.Certificate, error)
	CreateCertificateToken(ctx context.Context, name string) (*client.Operation, error)
	DeleteCertificate(ctx context.Context, fingerprint string) error
}

var _ Client = (*client.Client)(nil)

// clientFor returns the API client for the server ref names ("host2:web1" or "web1") as a
// Client, and the name without its remote.
func clientFor(f *cli.Factory, ref string) (func() (Client, error), string) {
	get, name := f.APIFor(ref)
	return func() (Client, error) { return get() }, name
}

// base are the inputs every command of this package has: its I/O, the client of the server
// its first argument names, and that argument without its remote (the instance, profile or
// client name; "" for the server itself).
type base struct {
	IO     *cli.IOStreams
	Client func() (Client, error)
	Name   string
}

// newCmd completes cmd, a command on what its first argument names ("REMOTE:NAME" for another
// server's): b gets the client and name from it, bind (when not nil) fills the rest of the
// options from all the arguments or refuses them, then run runs.
func newCmd(f *cli.Factory, b *base, run func(context.Context) error, cmd *cobra.Command, bind func(args []string) error) *cobra.Command {
	b.IO = f.IO
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		ref := ""
		if len(args) > 0 {
			ref = args[0]
		}
		b.Client, b.Name = clientFor(f, ref)
		if bind != nil {
			if err := bind(args); err != nil {
				return err
			}
		}
		return run(cmd.Context())
	}
	return cmd
}

// runner returns what runs a command's options: runF when a test gives one, else run.
func runner[O any](runF, run func(context.Context, *O) error, opts *O) func(context.Context) error {
	if runF != nil {
		run = runF
	}
	return func(ctx context.Context) error { return run(ctx, opts) }
}

// group returns a command that only holds subcommands.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Args: cli.ExactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() }}
	cmd.AddCommand(subs...)
	return cmd
}

// say prints one line.
func (b *base) say(format string, a ...any) error {
	_, err := fmt.Fprintf(b.IO.Out, format+"\n", a...)
	return err
}

// target is an instance or a profile being changed.
type target struct {
	c    Client
	io   *cli.IOStreams
	name string
	inst *api.InstanceFull // set for an instance
	prof *api.Profile      // set for a profile
}

// Kind is what a command's target is: an instance or a profile.
type Kind string

// The kinds of target; the names appear in usage lines ([REMOTE:]INSTANCE).
const (
	Instance Kind = "Instance"
	Profile  Kind = "Profile"
)

// load connects and loads the instance or profile b names.
func (b *base) load(ctx context.Context, kind Kind) (*target, error) {
	c, err := b.Client()
	if err != nil {
		return nil, err
	}
	t := &target{c: c, io: b.IO, name: b.Name}
	if kind == Profile {
		if t.prof, err = c.GetProfile(ctx, b.Name); err != nil {
			return nil, err
		}
		t.prof.Config, t.prof.Devices = orEmpty(t.prof.Config), orEmpty(t.prof.Devices)
		return t, nil
	}
	if t.inst, err = c.GetInstance(ctx, b.Name); err != nil {
		return nil, err
	}
	t.inst.Config, t.inst.Devices = orEmpty(t.inst.Config), orEmpty(t.inst.Devices)
	return t, nil
}

// orEmpty returns m, or an empty map when m is nil.
func orEmpty[V any](m map[string]V) map[string]V {
	if m == nil {
		return map[string]V{}
	}
	return m
}

func (t *target) config() map[string]string {
	if t.inst != nil {
		return t.inst.Config
	}
	return t.prof.Config
}

func (t *target) devices() map[string]map[string]string {
	if t.inst != nil {
		return t.inst.Devices
	}
	return t.prof.Devices
}

// save writes the target back whole (PUT), waiting for an instance's update operation as
// every lite command does (Ctrl-C cancels it, see cli.Interrupted).
func (t *target) save(ctx context.Context) error {
	if t.prof != nil {
		return t.c.UpdateProfile(ctx, t.name, t.prof.ProfilePut)
	}
	op, err := t.c.UpdateInstance(ctx, t.name, t.inst.InstancePut)
	if err != nil {
		return err
	}
	_, err = progress.Wait(ctx, t.io, cli.WrapOperation(op))
	return err
}

// editAndSave replaces the target's writable part with the user's edit of it and saves it.
func (t *target) editAndSave(ctx context.Context) error {
	var err error
	if t.prof != nil {
		err = editPart(t.io, &t.prof.ProfilePut)
	} else {
		err = editPart(t.io, &t.inst.InstancePut)
	}
	if err != nil {
		return err
	}
	return t.save(ctx)
}

// editPart replaces *part with the user's edit of it (see edit); on an error it is unchanged.
func editPart[T any](ios *cli.IOStreams, part *T) error {
	var put T
	if err := edit(ios, *part, &put); err != nil {
		return err
	}
	*part = put
	return nil
}

// keyValues reads "k=v k2=v2" or, as lxc also allows, "k v".
func keyValues(args []string) (map[string]string, error) {
	if len(args) == 2 && !strings.Contains(args[0], "=") {
		return map[string]string{args[0]: args[1]}, nil
	}
	if len(args) == 0 {
		return nil, errors.New("no KEY=VALUE given")
	}
	out := map[string]string{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("invalid argument %q: want KEY=VALUE (or KEY VALUE)", a)
		}
		out[k] = v
	}
	return out, nil
}

// edit gets a new version of doc from the user: from stdin when it is not a terminal, else
// in $EDITOR (or $VISUAL, or vi) on a temporary YAML file. into receives the parsed YAML.
func edit(ios *cli.IOStreams, doc any, into any) error {
	var raw []byte
	var err error
	if !ios.InTTY {
		if raw, err = io.ReadAll(ios.In); err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	} else if raw, err = editInEditor(ios, doc); err != nil {
		return err
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("bad YAML: %w", err)
	}
	return nil
}

// editInEditor writes doc as YAML to a temporary file, runs the user's editor on it and
// returns what the file holds then.
func editInEditor(ios *cli.IOStreams, doc any) ([]byte, error) {
	var buf bytes.Buffer
	if err := output.PrintYAML(&buf, doc); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp("", "lite-edit-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	getenv := ios.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	editor := firstNonEmpty(getenv("VISUAL"), getenv("EDITOR"), "vi")
	cmd := exec.Command("sh", "-c", editor+` "$1"`, "sh", f.Name())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("editor %s: %w", editor, err)
	}
	return os.ReadFile(f.Name())
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
