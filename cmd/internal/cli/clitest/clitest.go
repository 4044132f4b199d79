// Package clitest holds the fakes of the commands' tests: Client, a fake cli.Client that serves
// canned objects, records every call and plays operations with scripted progress and results;
// and Server, a fake daemon on a unix socket for the commands that take the real API client.
package clitest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// Client is a fake cli.Client.
type Client struct {
	Server    *api.Server
	Instances []api.InstanceFull
	Images    []api.Image

	// Progress is the metadata each operation reports before it ends.
	Progress []map[string]any
	// Fail maps a call (as recorded in Calls) to the error its operation ends with.
	Fail map[string]error
	// CreatedName names the instance in the create operation's resources when the request
	// has no name.
	CreatedName string

	// Exec plays lite exec: it gets the request and the local ends of the session and
	// returns the exit code and error.
	Exec func(req api.InstanceExecPost, args client.ExecArgs) (int, error)

	mu       sync.Mutex
	Calls    []string
	Requests []any // request bodies, in call order
}

var _ cli.Client = (*Client)(nil)

func (c *Client) record(call string, body any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.Calls = append(c.Calls, call)
	c.Requests = append(c.Requests, body)
}

// CallLog returns the calls made so far, one per line.
func (c *Client) CallLog() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.Calls, "\n")
}

func (c *Client) op(call string, final api.Operation) cli.Operation {
	final.StatusCode = api.Success
	err := c.Fail[call]
	if err != nil {
		final.StatusCode, final.Err = api.Failure, err.Error()
	}
	return &Operation{Progress: c.Progress, Final: final, Err: err}
}

// GetServer returns Server.
func (c *Client) GetServer(ctx context.Context) (*api.Server, error) {
	c.record("GET /1.0", nil)
	if c.Server == nil {
		return nil, &api.StatusError{Status: http.StatusInternalServerError, Msg: "no server"}
	}
	return c.Server, nil
}

// GetInstances returns Instances.
func (c *Client) GetInstances(ctx context.Context, filter string) ([]api.InstanceFull, error) {
	c.record("GET instances filter="+filter, nil)
	return c.Instances, nil
}

// GetInstance returns the instance of that name or a 404 error.
func (c *Client) GetInstance(ctx context.Context, name string) (*api.InstanceFull, error) {
	c.record("GET instance "+name, nil)
	for n := range c.Instances {
		if c.Instances[n].Name == name {
			inst := c.Instances[n]
			return &inst, nil
		}
	}
	return nil, &api.StatusError{Status: http.StatusNotFound, Msg: "Instance not found"}
}

// UseTarget records "target NAME" and returns the same fake: its later calls stand for
// the targeted client's.
func (c *Client) UseTarget(name string) cli.Client {
	c.record("target "+name, nil)
	return c
}

// CreateInstance records the request; the operation names the new instance.
func (c *Client) CreateInstance(ctx context.Context, req api.InstancesPost) (cli.Operation, error) {
	call := "POST instances " + req.Name
	c.record(call, req)
	name := req.Name
	if name == "" {
		name = c.CreatedName
	}
	return c.op(call, api.Operation{Resources: map[string][]string{"instances": {"/1.0/instances/" + name}}}), nil
}

// UpdateInstanceState records the request as "PUT state NAME ACTION force=F timeout=T".
func (c *Client) UpdateInstanceState(ctx context.Context, name string, req api.InstanceStatePut) (cli.Operation, error) {
	call := fmt.Sprintf("PUT state %s %s force=%v timeout=%d", name, req.Action, req.Force, req.Timeout)
	c.record(call, req)
	return c.op(call, api.Operation{}), nil
}

// DeleteInstance records "DELETE NAME".
func (c *Client) DeleteInstance(ctx context.Context, name string) (cli.Operation, error) {
	call := "DELETE " + name
	c.record(call, nil)
	return c.op(call, api.Operation{}), nil
}

// DeleteInstanceSnapshot records "DELETE NAME/SNAP".
func (c *Client) DeleteInstanceSnapshot(ctx context.Context, name, snap string) (cli.Operation, error) {
	call := "DELETE " + name + "/" + snap
	c.record(call, nil)
	return c.op(call, api.Operation{}), nil
}

// ExecInstance records "EXEC NAME CMD..." and runs Exec.
func (c *Client) ExecInstance(ctx context.Context, name string, req api.InstanceExecPost, args client.ExecArgs) (int, error) {
	c.record("EXEC "+name+" "+strings.Join(req.Command, " "), req)
	if c.Exec == nil {
		if args.Stdin != nil {
			_, _ = io.Copy(io.Discard, args.Stdin)
		}
		return 0, nil
	}
	return c.Exec(req, args)
}

// GetImages returns Images.
func (c *Client) GetImages(ctx context.Context) ([]api.Image, error) {
	c.record("GET images", nil)
	return c.Images, nil
}

// Operation is a fake operation: it reports Progress, then ends as Final with Err.
type Operation struct {
	Progress []map[string]any
	Final    api.Operation
	Err      error
}

// Wait reports the progress and returns the final state.
func (o *Operation) Wait(ctx context.Context, onProgress func(map[string]any)) (api.Operation, error) {
	for _, md := range o.Progress {
		if onProgress != nil {
			onProgress(md)
		}
	}
	if err := ctx.Err(); err != nil {
		return o.Final, err
	}
	return o.Final, o.Err
}
