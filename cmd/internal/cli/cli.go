// Package cli holds what every lite command shares: the injected I/O streams, the client
// interface the commands use (so tests can fake it), the factory that hands both out, and the
// error that carries an exit code.
package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"lite/client"
	"lite/client/api"
)

// Client is the part of the API the commands use. *client.Client satisfies it through Remote.
type Client interface {
	GetServer(ctx context.Context) (*api.Server, error)
	GetInstances(ctx context.Context, filter string) ([]api.InstanceFull, error)
	GetInstance(ctx context.Context, name string) (*api.InstanceFull, error)
	CreateInstance(ctx context.Context, req api.InstancesPost) (Operation, error)
	UpdateInstanceState(ctx context.Context, name string, req api.InstanceStatePut) (Operation, error)
	DeleteInstance(ctx context.Context, name string) (Operation, error)
	DeleteInstanceSnapshot(ctx context.Context, name, snap string) (Operation, error)
	ExecInstance(ctx context.Context, name string, req api.InstanceExecPost, args client.ExecArgs) (int, error)
	GetImages(ctx context.Context) ([]api.Image, error)
	// UseTarget returns a client whose instance creations go to that cluster member.
	UseTarget(name string) Client
}

// Operation is a server operation as the commands see it.
type Operation interface {
	// Wait blocks until the operation ends and returns its final state. onProgress, when not
	// nil, is called with the operation's metadata on every update.
	Wait(ctx context.Context, onProgress func(metadata map[string]any)) (api.Operation, error)
}

// Factory hands commands their I/O and, lazily, their clients (so that commands that do not
// need the daemon, and --help, work without it). Both clients are typed: the instance
// commands take Client (faked in their tests), every other command group takes its own
// narrow interface, which the API client satisfies at compile time.
type Factory struct {
	IO *IOStreams
	// Client returns the instance commands' client of the default daemon.
	Client func() (Client, error)
	// API returns the API client of the default daemon.
	API func() (*client.Client, error)
	// SplitRemote, when set, recognises "REMOTE:REST" naming a lite server remote: it
	// returns the API client of that server and REST.
	SplitRemote func(ref string) (api func() (*client.Client, error), rest string, ok bool)
	// ServerOf, when set, names the server a reference goes to ("local", or a remote's name,
	// the default remote for one without a prefix), so two references can be compared.
	ServerOf func(ref string) string
}

// sameServerAs says whether refs a and b (with restA, restB left after their remotes) go to
// one server: by ServerOf when set, else by their written prefixes.
func (f *Factory) sameServerAs(a, restA, b, restB string) bool {
	if f.ServerOf != nil {
		return f.ServerOf(a) == f.ServerOf(b)
	}
	return strings.TrimSuffix(a, restA) == strings.TrimSuffix(b, restB)
}

// OneServer says whether two references go to the same server ("host2:a" and "b" do after
// `lite remote switch host2`).
func (f *Factory) OneServer(a, b string) bool {
	_, restA := f.APIFor(a)
	_, restB := f.APIFor(b)
	return f.sameServerAs(a, restA, b, restB)
}

// APIFor returns the API client a reference is meant for and the reference without its
// remote: "host2:web1" goes to host2, "web1" to the default daemon.
func (f *Factory) APIFor(ref string) (func() (*client.Client, error), string) {
	if f.SplitRemote != nil {
		if c, rest, ok := f.SplitRemote(ref); ok {
			return c, rest
		}
	}
	return f.API, ref
}

// For is APIFor for the instance commands' Client.
func (f *Factory) For(ref string) (func() (Client, error), string) {
	if f.SplitRemote != nil {
		if get, rest, ok := f.SplitRemote(ref); ok {
			return RemoteOf(get), rest
		}
	}
	return f.Client, ref
}

// ForAll is For for commands that take several names: they must all be on one server.
func (f *Factory) ForAll(refs []string) (func() (Client, error), []string, error) {
	if len(refs) == 0 {
		return f.Client, refs, nil
	}
	names, err := f.SameServer(refs)
	if err != nil {
		return nil, nil, err
	}
	get, _ := f.For(refs[0])
	return get, names, nil
}

// APIForAll is APIFor for commands that take several names: they must all be on one server.
func (f *Factory) APIForAll(refs []string) (func() (*client.Client, error), []string, error) {
	if len(refs) == 0 {
		return f.API, refs, nil
	}
	names, err := f.SameServer(refs)
	if err != nil {
		return nil, nil, err
	}
	get, _ := f.APIFor(refs[0])
	return get, names, nil
}

// SameServer returns refs without their remote, or an error when they name several servers.
func (f *Factory) SameServer(refs []string) ([]string, error) {
	_, first := f.APIFor(refs[0])
	names := []string{first}
	for _, ref := range refs[1:] {
		_, name := f.APIFor(ref)
		if !f.sameServerAs(refs[0], first, ref, name) {
			return nil, fmt.Errorf("%q and %q are on different servers: give names on one server per command: %w", refs[0], ref, api.ErrInvalid)
		}
		names = append(names, name)
	}
	return names, nil
}

// RemoteOf turns a function returning an API client into one returning it as a Client.
func RemoteOf(get func() (*client.Client, error)) func() (Client, error) {
	return func() (Client, error) {
		c, err := get()
		if err != nil {
			return nil, err
		}
		return Remote(c), nil
	}
}

// Remote adapts a *client.Client to Client.
func Remote(c *client.Client) Client { return remote{c} }

type remote struct{ *client.Client }

func (r remote) UseTarget(name string) Client { return remote{r.Client.UseTarget(name)} }

func (r remote) CreateInstance(ctx context.Context, req api.InstancesPost) (Operation, error) {
	return wrapOp(r.Client.CreateInstance(ctx, req))
}

func (r remote) UpdateInstanceState(ctx context.Context, name string, req api.InstanceStatePut) (Operation, error) {
	return wrapOp(r.Client.UpdateInstanceState(ctx, name, req))
}

func (r remote) DeleteInstance(ctx context.Context, name string) (Operation, error) {
	return wrapOp(r.Client.DeleteInstance(ctx, name))
}

func (r remote) DeleteInstanceSnapshot(ctx context.Context, name, snap string) (Operation, error) {
	return wrapOp(r.Client.DeleteInstanceSnapshot(ctx, name, snap))
}

func wrapOp(op *client.Operation, err error) (Operation, error) {
	if err != nil {
		return nil, err
	}
	return remoteOp{op}, nil
}

type remoteOp struct{ op *client.Operation }

func (r remoteOp) Wait(ctx context.Context, onProgress func(map[string]any)) (api.Operation, error) {
	r.op.OnProgress = onProgress
	err := r.op.Wait(ctx)
	if err != nil && ctx.Err() != nil {
		err = Interrupted(ctx, r.op)
	}
	return r.op.Get(), err
}

// cancelTimeout bounds the cancel request sent after an interrupt, so that a daemon that does
// not answer cannot hold the user's terminal.
const cancelTimeout = 10 * time.Second

// Interrupted is the error of an operation whose wait ended because ctx was done (Ctrl-C):
// the operation is cancelled when the server allows it, else the user is told it goes on.
// The error wraps ctx's error, so ExitCode reports an interrupt.
func Interrupted(ctx context.Context, op *client.Operation) error {
	cause := ctx.Err()
	o := op.Get()
	what := "operation " + o.ID
	if o.Description != "" {
		what += " (" + o.Description + ")"
	}
	if !o.MayCancel {
		return fmt.Errorf("interrupted: %s goes on in the daemon, it cannot be cancelled: %w", what, cause)
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelTimeout)
	defer cancel()
	if err := op.Cancel(cctx); err != nil {
		return fmt.Errorf("interrupted: cancelling %s failed: %v: %w", what, err, cause)
	}
	return fmt.Errorf("interrupted: %s cancelled: %w", what, cause)
}

// WrapOperation adapts a *client.Operation to Operation, for commands whose narrow client
// interfaces return the client's own operations.
func WrapOperation(op *client.Operation) Operation { return remoteOp{op} }
