// Package instancetest holds fakes of the instance package's backends, so the lifecycle, the
// API handlers and the exec protocol can be tested without root or liblxc.
package instancetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"

	"lite/client/api"
	"lite/lxd-lite/instance"
)

// Runtime is a fake instance.Runtime: containers are entries in an in-memory running set, and
// Exec runs the command on the host, wired to the files it is given, so the exec framing is
// exercised for real.
type Runtime struct {
	// WorkDir is where exec'd commands run; the spec's Cwd names a directory inside the
	// container, which does not exist on the host. Empty: the test process's directory.
	WorkDir    string
	mu         sync.Mutex
	startErr   error
	startDelay time.Duration
	running    map[string]instance.RunSpec
	starts     []instance.RunSpec
	stops      []StopCall
	execs      []instance.ExecSpec
	procs      []*exec.Cmd
	cgroupSets []string
	failCgroup string
}

// StopCall records one Stop.
type StopCall struct {
	Name string
	Opts instance.StopOptions
}

// NewRuntime returns a fake runtime with nothing running.
func NewRuntime() *Runtime { return &Runtime{running: map[string]instance.RunSpec{}} }

var _ instance.Runtime = (*Runtime)(nil)

// SetStartErr makes every later Start fail with err (nil: succeed).
func (r *Runtime) SetStartErr(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startErr = err
}

// SetStartDelay makes every later Start take d, widening race windows for lock tests.
func (r *Runtime) SetStartDelay(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startDelay = d
}

// Start marks the container running. Every call is recorded, also one for a container that
// already runs (which the lifecycle must never make), so tests can count them.
func (r *Runtime) Start(ctx context.Context, spec instance.RunSpec) error {
	r.mu.Lock()
	r.starts = append(r.starts, spec)
	delay, startErr := r.startDelay, r.startErr
	r.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if startErr != nil {
		return startErr
	}
	if _, ok := r.running[spec.Name]; ok {
		return fmt.Errorf("fake runtime: %q already running", spec.Name)
	}
	r.running[spec.Name] = spec
	return nil
}

// Stop marks the container stopped.
func (r *Runtime) Stop(ctx context.Context, name string, opts instance.StopOptions) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.running[name]; !ok {
		return fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	delete(r.running, name)
	r.stops = append(r.stops, StopCall{Name: name, Opts: opts})
	return nil
}

// State reports whether the container is in the running set.
func (r *Runtime) State(ctx context.Context, name string) (instance.RunState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.running[name]; !ok {
		return instance.RunState{}, nil
	}
	return instance.RunState{Running: true, Pid: 4242, Processes: 7, MemUsage: 1 << 20, MemPeak: 2 << 20, CPUNs: 1000}, nil
}

// Exec runs spec.Command on the host with spec's environment and files.
func (r *Runtime) Exec(ctx context.Context, name string, spec instance.ExecSpec) (instance.Process, error) {
	r.mu.Lock()
	_, ok := r.running[name]
	r.execs = append(r.execs, spec)
	r.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	if len(spec.Command) == 0 {
		return nil, errors.New("fake runtime: empty command")
	}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Env = spec.Env
	cmd.Dir = r.WorkDir
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("fake runtime: start %v: %w", spec.Command, err)
	}
	r.mu.Lock()
	r.procs = append(r.procs, cmd)
	r.mu.Unlock()
	return &process{cmd: cmd}, nil
}

// KillAll kills every process Exec started that may still run; call it in t.Cleanup so a
// failed test leaves nothing behind.
func (r *Runtime) KillAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.procs {
		_ = c.Process.Kill()
	}
}

// OpenPty opens a host pty pair for a running container.
func (r *Runtime) OpenPty(ctx context.Context, name string) (*os.File, *os.File, error) {
	if !r.Running(name) {
		return nil, nil, fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("fake runtime: open pty: %w", err)
	}
	return ptmx, tty, nil
}

// Running reports whether name is in the running set.
func (r *Runtime) Running(name string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.running[name]
	return ok
}

// Starts returns the specs Start was called with, in order.
func (r *Runtime) Starts() []instance.RunSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]instance.RunSpec(nil), r.starts...)
}

// Stops returns the Stop calls, in order.
func (r *Runtime) Stops() []StopCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]StopCall(nil), r.stops...)
}

// Execs returns the specs Exec was called with, in order.
func (r *Runtime) Execs() []instance.ExecSpec {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]instance.ExecSpec(nil), r.execs...)
}

type process struct {
	cmd *exec.Cmd
}

func (p *process) Pid() int { return p.cmd.Process.Pid }

// Wait returns the exit code, or 128+signal when a signal ended the process, like the real
// runtime.
func (p *process) Wait() (int, error) {
	err := p.cmd.Wait()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return -1, err
		}
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok {
		return p.cmd.ProcessState.ExitCode(), nil
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

func (p *process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// SetCgroup records a live cgroup change of a running container: Cgroups returns the spec's
// settings with every change applied, as the container's cgroup would hold them. A key in
// FailCgroup makes it fail, like a kernel refusing a memory limit below the usage.
func (r *Runtime) SetCgroup(ctx context.Context, name, key, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	spec, ok := r.running[name]
	if !ok {
		return fmt.Errorf("instance %q is not running: %w", name, api.ErrNotRunning)
	}
	if r.failCgroup != "" && r.failCgroup == key {
		return fmt.Errorf("fake runtime: set %s on %q: device or resource busy", key, name)
	}
	cg := make(map[string]string, len(spec.Cgroups)+1)
	for k, v := range spec.Cgroups {
		cg[k] = v
	}
	cg[key] = value
	spec.Cgroups = cg
	r.running[name] = spec
	r.cgroupSets = append(r.cgroupSets, name+" "+key+"="+value)
	return nil
}

// FailCgroup makes later SetCgroup calls for key fail ("" for none).
func (r *Runtime) FailCgroup(key string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failCgroup = key
}

// Cgroups returns a running container's cgroup settings, start spec plus live changes.
func (r *Runtime) Cgroups(name string) map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for k, v := range r.running[name].Cgroups {
		out[k] = v
	}
	return out
}

// CgroupSets returns every SetCgroup call as "name key=value", in order.
func (r *Runtime) CgroupSets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.cgroupSets...)
}
