package instance

import (
	"log/slog"

	"lite/client/api"
	"lite/db"
	"lite/lxd-lite/events"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/storage"
)

// Config wires the jobs on instances (New).
type Config struct {
	DB      *db.DB
	Runtime Runtime
	Pool    *storage.Pool
	Images  Images
	Hub     *events.Hub
	IDMap   idmap.Map // the default map of unprivileged containers
	Log     *slog.Logger
	// Devices are the handlers by device type; the root disk needs none.
	Devices map[string]DeviceHandler
	// NetState reads the interfaces of a running container's network namespace (nil: none).
	NetState func(pid int) (map[string]api.InstanceStateNetwork, error)
	// Cgroups is the host's cgroup layout, for limits.* keys (DetectCgroups).
	Cgroups CgroupHost
	// Lxcfs is where lxcfs is mounted ("" when it does not run): its /proc files and CPU
	// list are bind-mounted into every container, so tools inside see the container's limits.
	Lxcfs string
	// AllowRawLXCHooks is the server's opt-in (lited --allow-raw-lxc-hooks) for raw.lxc keys
	// that run host commands or change the container's confinement (hooks, AppArmor,
	// seccomp, capabilities, mounts, namespaces, devices). Without it they are refused.
	AllowRawLXCHooks bool
	// Node returns this cluster member's name ("" or nil: a single host). New rows record
	// it, and the daemon's own loops (autostart, scheduler, recovery) touch only its rows.
	Node func() string
}

// Services are the jobs on instances, each its own type over one shared core (so one lock
// per instance holds across all of them). The daemon builds them once, from one Config.
type Services struct {
	// Instances is the lifecycle: create, copy, start, stop, restart, delete, rename,
	// update and restore, pause and resume, state.
	Instances *Manager
	// Snapshots takes, lists, renames, expires and deletes snapshots.
	Snapshots *Snapshots
	// Backups exports, stores and imports instance backups.
	Backups *Backups
	// Profiles creates, changes (applying to every user), renames and deletes profiles.
	Profiles *Profiles
	// Metadata edits an instance's own metadata.yaml and templates.
	Metadata *Metadata
	// Files mounts an instance's root filesystem for the files API and publishing.
	Files *Files
	// Scheduler runs the snapshot schedule and autostart.
	Scheduler *Scheduler
	// Recovery reconciles the host with the database when lited starts.
	Recovery *Recovery
}

// New builds every job on instances over one core.
func New(c Config) *Services {
	co := &core{db: c.DB, rt: c.Runtime, pool: c.Pool, images: c.Images, hub: c.Hub, idmap: c.IDMap, locks: newLocks(), log: c.Log,
		devices: c.Devices, cgroups: c.Cgroups, allowRawLXCHooks: c.AllowRawLXCHooks, node: c.Node}
	life := &Manager{core: co, netState: c.NetState, lxcfs: c.Lxcfs}
	snaps := &Snapshots{core: co}
	return &Services{
		Instances: life, Snapshots: snaps, Backups: &Backups{core: co}, Profiles: &Profiles{core: co},
		Metadata: &Metadata{core: co}, Files: &Files{core: co}, Scheduler: &Scheduler{core: co, snaps: snaps, life: life},
		Recovery: &Recovery{core: co},
	}
}
