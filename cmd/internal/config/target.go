// Package config holds the commands that edit config and devices: `lite config ...` for an
// instance and `lite profile ...` for profiles. Both work on a target (an instance or a
// profile) loaded from the API, changed locally and written back whole with PUT, as lxc does.
package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/output"
)

// Client is the part of the API these commands use; *client.Client satisfies it.
type Client interface {
	GetInstance(ctx context.Context, name string) (*api.InstanceFull, error)
	UpdateInstance(ctx context.Context, name string, put api.InstancePut) (*client.Operation, error)
	GetProfiles(ctx context.Context) ([]api.Profile, error)
	GetProfile(ctx context.Context, name string) (*api.Profile, error)
	CreateProfile(ctx context.Context, p api.ProfilesPost) error
	UpdateProfile(ctx context.Context, name string, p api.ProfilePut) error
	RenameProfile(ctx context.Context, name, newName string) error
	DeleteProfile(ctx context.Context, name string) error
}

// connectFor returns the client of the server args[0] names ("host2:web1" goes to host2,
// "web1" and no args to the default) and args with the remote taken off args[0].
func connectFor(f *cli.Factory, args []string) (Client, []string, error) {
	if len(args) == 0 {
		c, err := connectWith(f.Client)
		return c, args, err
	}
	get, first := f.For(args[0])
	c, err := connectWith(get)
	return c, append([]string{first}, args[1:]...), err
}

// connectWith returns the client get makes as a Client.
func connectWith(get func() (cli.Client, error)) (Client, error) {
	c, err := get()
	if err != nil {
		return nil, err
	}
	pc, ok := c.(Client)
	if !ok {
		return nil, errors.New("this client cannot manage profiles and config")
	}
	return pc, nil
}

// target is an instance or a profile being changed.
type target struct {
	c    Client
	name string
	inst *api.InstanceFull // set for an instance
	prof *api.Profile      // set for a profile
}

func loadInstance(ctx context.Context, c Client, name string) (*target, error) {
	inst, err := c.GetInstance(ctx, name)
	if err != nil {
		return nil, err
	}
	if inst.Config == nil {
		inst.Config = map[string]string{}
	}
	if inst.Devices == nil {
		inst.Devices = map[string]map[string]string{}
	}
	return &target{c: c, name: name, inst: inst}, nil
}

func loadProfile(ctx context.Context, c Client, name string) (*target, error) {
	p, err := c.GetProfile(ctx, name)
	if err != nil {
		return nil, err
	}
	if p.Config == nil {
		p.Config = map[string]string{}
	}
	if p.Devices == nil {
		p.Devices = map[string]map[string]string{}
	}
	return &target{c: c, name: name, prof: p}, nil
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

// save writes the target back whole (PUT), waiting for an instance's update operation.
func (t *target) save(ctx context.Context) error {
	if t.prof != nil {
		return t.c.UpdateProfile(ctx, t.name, t.prof.ProfilePut)
	}
	op, err := t.c.UpdateInstance(ctx, t.name, t.inst.InstancePut)
	if err != nil {
		return err
	}
	return op.Wait(ctx)
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
	if !ios.InTTY {
		b, err := io.ReadAll(ios.In)
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		raw = b
	} else {
		var buf bytes.Buffer
		if err := output.PrintYAML(&buf, doc); err != nil {
			return err
		}
		f, err := os.CreateTemp("", "lite-edit-*.yaml")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		if _, err := f.Write(buf.Bytes()); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		getenv := ios.Getenv
		if getenv == nil {
			getenv = os.Getenv
		}
		editor := firstNonEmpty(getenv("VISUAL"), getenv("EDITOR"), "vi")
		cmd := exec.Command("sh", "-c", editor+` "$1"`, "sh", f.Name())
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("editor %s: %w", editor, err)
		}
		if raw, err = os.ReadFile(f.Name()); err != nil {
			return err
		}
	}
	if err := yaml.Unmarshal(raw, into); err != nil {
		return fmt.Errorf("bad YAML: %w", err)
	}
	return nil
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// sortedKeys returns a map's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
