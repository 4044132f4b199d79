package instance

import (
	"context"
	"os"
	"time"

	"lite/lxd-lite/idmap"
)

// Runtime runs containers. The lxc driver is the real one; tests use a fake.
type Runtime interface {
	// Start starts a container from spec and returns once its init runs.
	Start(ctx context.Context, spec RunSpec) error
	// Stop stops a running container.
	Stop(ctx context.Context, name string, opts StopOptions) error
	// State reports a container's state; a container lxc does not know is stopped.
	State(ctx context.Context, name string) (RunState, error)
	// Exec starts a process inside a running container.
	Exec(ctx context.Context, name string, spec ExecSpec) (Process, error)
	// OpenPty allocates a terminal from the container's own devpts, so programs inside see a
	// /dev/pts/N of their own; it returns the master and the slave.
	OpenPty(ctx context.Context, name string) (ptmx, tty *os.File, err error)
	// SetCgroup changes one cgroup setting of a running container; key is lxc's
	// ("lxc.cgroup.memory.limit_in_bytes" on v1, "lxc.cgroup2.memory.max" on v2).
	SetCgroup(ctx context.Context, name, key, value string) error
}

// RunSpec is everything the runtime needs to start one container.
type RunSpec struct {
	Name   string
	Dir    string // the container's directory (lxc config and logs live here)
	Rootfs string // "overlay:LOWER:UPPER" or "dir:PATH"
	// RootfsMount, when set, is how to mount the root filesystem at Rootfs's PATH on the
	// host (mount(8)'s arguments): lite mounts it for a start and detaches it once the
	// container runs, so when the container reboots inside, liblxc's monitor, which starts
	// it again from PATH, mounts it first.
	RootfsMount []string
	IDMap       *idmap.Map // nil: privileged
	Nesting     bool
	RawLXC      string
	LogFile     string
	// ConsoleLog, when set, is where liblxc copies the console's output (lite console --show-log).
	ConsoleLog string
	Hostname   string
	// Filled by device handlers.
	NICs    []NIC
	Mounts  []Mount
	Nodes   []DeviceNode
	Cgroups map[string]string // lxc key -> value: "lxc.cgroup2.memory.max" (v2) or "lxc.cgroup.memory.limit_in_bytes" (v1)
}

// StopOptions says how to stop. Timeout < 0 waits for a clean shutdown as long as it takes;
// Force (or a zero Timeout) kills at once.
type StopOptions struct {
	Timeout time.Duration
	Force   bool
}

// RunState is what the runtime knows about a container.
type RunState struct {
	Running   bool
	Frozen    bool
	Pid       int
	Processes int64
	MemUsage  int64
	MemPeak   int64
	CPUNs     int64
}

// ExecSpec is a process to run inside a container. Stdin, Stdout and Stderr are the
// process's ends (a pipe end or a pty slave); the caller keeps the other ends.
type ExecSpec struct {
	Command []string
	Env     []string
	Cwd     string
	UID     uint32
	GID     uint32
	Stdin   *os.File
	Stdout  *os.File
	Stderr  *os.File
}

// Process is a process started by Exec.
type Process interface {
	Pid() int
	// Wait returns the exit code, or 128+signal when a signal killed it.
	Wait() (int, error)
	Signal(sig os.Signal) error
}
