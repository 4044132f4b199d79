package instance

import (
	"context"
	"fmt"
	"os"

	"lite/client/api"
)

// Consoler hands out the host end of a running container's console and a function that
// frees it for the next client (after the file is closed). The lxc driver has it.
type Consoler interface {
	Console(ctx context.Context, name string) (*os.File, func(), error)
}

// CheckRunning fails with ErrNotRunning unless the instance exists and runs (not frozen): what
// exec and console need before they hand out websockets.
func (m *Manager) CheckRunning(ctx context.Context, name string) error {
	running, err := m.Running(ctx, name)
	if err != nil {
		return err
	}
	if !running {
		return fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	return nil
}

// Exec starts a process in a running instance. It takes no instance lock, as in LXD: a
// clean stop or a restart may hold that lock for minutes (a unit that never stops), and an
// exec into the container meanwhile (to see why) must not wait behind it. A stop that wins
// the race ends the process with the container; a rename or delete makes the runtime call
// fail.
func (m *Manager) Exec(ctx context.Context, name string, spec ExecSpec) (Process, error) {
	if err := m.CheckRunning(ctx, name); err != nil {
		return nil, err
	}
	proc, err := m.rt.Exec(ctx, name, spec)
	if err != nil {
		return nil, err
	}
	m.hub.Lifecycle("instance-exec", URL(name), map[string]any{"command": spec.Command})
	return proc, nil
}

// OpenPty allocates a terminal inside a running instance for an interactive exec: the
// master for the caller and the slave for Exec.
// Like Exec it takes no instance lock.
func (m *Manager) OpenPty(ctx context.Context, name string) (ptmx, tty *os.File, err error) {
	if err := m.CheckRunning(ctx, name); err != nil {
		return nil, nil, err
	}
	return m.rt.OpenPty(ctx, name)
}

// Console attaches to a running instance's console: the host end, and the function that
// frees it for the next client once the file is closed.
// Like Exec it takes no instance lock: the console is how one sees a stop that hangs.
func (m *Manager) Console(ctx context.Context, name string) (*os.File, func(), error) {
	if err := m.CheckRunning(ctx, name); err != nil {
		return nil, nil, err
	}
	cons, ok := m.rt.(Consoler)
	if !ok {
		return nil, nil, fmt.Errorf("this runtime has no console: %w", api.ErrInvalid)
	}
	return cons.Console(ctx, name)
}
