package lab

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"lite/client"
	"lite/client/api"
	"lite/cmd/internal/cli"
)

// Execer runs a command in an instance; *client.Client satisfies it.
type Execer interface {
	ExecInstance(ctx context.Context, name string, req api.InstanceExecPost, args client.ExecArgs) (int, error)
}

// resolveTargets turns NAME|GROUP|NODE,... into node names: a lab's name is all its nodes, a
// group is its members, a node is itself.
func resolveTargets(labs []api.Lab, spec string) ([]string, error) {
	set := map[string]bool{}
	for _, t := range strings.Split(spec, ",") {
		found := false
		for _, l := range labs {
			for _, n := range l.Nodes {
				if l.Name == t || n.Name == t || contains(n.Groups, t) {
					set[n.Name], found = true, true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("%q is neither a lab, a group nor a node of a lab: %w", t, api.ErrNotFound)
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// RunExec runs cmd on every target node in parallel, each output line prefixed with the
// node's name; the exit status is the worst of them.
func RunExec(ctx context.Context, opts *Options, spec string, cmd []string) error {
	c, ex, err := opts.execClient()
	if err != nil {
		return err
	}
	labs, err := c.GetLabs(ctx)
	if err != nil {
		return err
	}
	nodes, err := resolveTargets(labs, spec)
	if err != nil {
		return err
	}
	width := 0
	for _, n := range nodes {
		width = max(width, len(n))
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	worst := 0
	for _, n := range nodes {
		wg.Add(1)
		go func(n string) {
			defer wg.Done()
			prefix := fmt.Sprintf("%-*s | ", width, n)
			out := &prefixWriter{mu: &mu, w: opts.IO.Out, prefix: prefix}
			errw := &prefixWriter{mu: &mu, w: opts.IO.ErrOut, prefix: prefix}
			code, err := ex.ExecInstance(ctx, n, api.InstanceExecPost{Command: cmd}, client.ExecArgs{Stdout: out, Stderr: errw})
			out.flush()
			errw.flush()
			if err != nil {
				fmt.Fprintf(errw, "Error: %v\n", err)
				errw.flush()
				code = max(code, 1)
			}
			mu.Lock()
			worst = max(worst, code)
			mu.Unlock()
		}(n)
	}
	wg.Wait()
	if worst != 0 {
		return &cli.ExitError{Code: worst}
	}
	return nil
}

// prefixWriter writes whole lines, each with a prefix, under a shared lock so lines of
// different nodes never mix.
type prefixWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.mu.Lock()
		_, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i])
		p.mu.Unlock()
		p.buf = p.buf[i+1:]
		if err != nil {
			return len(b), err
		}
	}
}

func (p *prefixWriter) flush() {
	if len(p.buf) > 0 {
		_, _ = p.Write([]byte("\n"))
	}
}

// execClient returns the client and its exec side, which lab exec, check and impair use.
func (o *Options) execClient() (Client, Execer, error) {
	c, err := o.Client()
	if err != nil {
		return nil, nil, err
	}
	return c, c, nil
}
