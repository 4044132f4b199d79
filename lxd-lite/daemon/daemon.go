// Package daemon wires lited together: state dir, database, runtime, storage, images,
// operations, events and the API on the unix socket. It is the one place that knows them all.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/images"
	"lite/lxd-lite/cluster"
	"lite/lxd-lite/device"
	"lite/lxd-lite/events"
	"lite/lxd-lite/idmap"
	"lite/lxd-lite/imagesvc"
	"lite/lxd-lite/instance"
	lxcdriver "lite/lxd-lite/instance/drivers/lxc"
	"lite/lxd-lite/lab"
	"lite/lxd-lite/lxcfs"
	"lite/lxd-lite/operations"
	"lite/lxd-lite/server"
	"lite/lxd-lite/settings"
	"lite/lxd-lite/storage"
)

// Version is lited's version.
const Version = "0.1.0"

// opsShutdownTimeout bounds how long shutdown waits for cancelled operations to clean up
// (a create reverting, an exec's process being killed).
const opsShutdownTimeout = 10 * time.Second

// clusterCloseTimeout bounds the stop of a cluster member's database node: one that lost
// its quorum may never finish, and lited exits all the same.
const clusterCloseTimeout = 10 * time.Second

// dbCloseTimeout bounds closing the database (on dqlite, its connections to the leader).
const dbCloseTimeout = 5 * time.Second

// Options configure the daemon.
type Options struct {
	Dir        string // LITE_DIR
	BuildCache string // where built image tarballs are kept between runs
	Mirror     string // Debian mirror for the builder ("" = debootstrap's default)
	// DefaultNetwork names the network lited creates on its first start ("" = litebr0).
	DefaultNetwork string
	// DefaultNAT is ipv4.nat of the default network and of networks created with an
	// automatic subnet.
	DefaultNAT bool
	// NFTTable names lite's nftables table ("" = derived from Dir, "lite" for /var/lib/lite).
	NFTTable string
	// UbuntuMirror and UbuntuKeyring let the builder make Ubuntu images (both needed).
	UbuntuMirror, UbuntuKeyring string
	// ImageMaxBytes bounds what one image may expand to when unpacked (0: 64 GiB).
	ImageMaxBytes int64
	// AllowRawLXCHooks lets raw.lxc set hooks, AppArmor, seccomp, capabilities, mounts,
	// namespaces and device access (keys that run host commands or loosen confinement).
	AllowRawLXCHooks bool
	// AllowShiftedHostPaths lets disk devices mount host paths with shift=true.
	AllowShiftedHostPaths bool
	// Storage forces a storage driver (storage.Overlay or storage.Dir; "" = detect).
	Storage string
	// HostsFile is where lab node names go for the host to resolve ("" = /etc/hosts).
	HostsFile string
	// HTTPS is where to serve the API over TLS while core.https_address is unset ("": nowhere).
	HTTPS string
	Log   *slog.Logger
}

// Run starts lited and serves until ctx ends. Containers keep running after it returns.
func Run(ctx context.Context, o Options) error {
	log := o.Log
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("create state dir: %w", err)
	}
	if err := securePermissions(dir, log); err != nil {
		return err
	}
	if err := checkSearchable(dir); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "lited.lock"), os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("open lock file: %w", err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return fmt.Errorf("another lited is already running with state dir %s", dir)
	}
	if !cluster.IsMember(dir) {
		if err := checkDatabasePresent(dir); err != nil {
			return err
		}
	}
	uids, changed, err := idmap.Ensure("/etc/subuid")
	if err != nil {
		return err
	}
	if changed {
		log.Info("added a subordinate uid range for root", "file", "/etc/subuid", "start", uids.Start, "count", uids.Count)
	}
	gids, changed, err := idmap.Ensure("/etc/subgid")
	if err != nil {
		return err
	}
	if changed {
		log.Info("added a subordinate gid range for root", "file", "/etc/subgid", "start", gids.Start, "count", gids.Count)
	}
	raiseSysctls(log)
	if o.AllowRawLXCHooks {
		log.Warn("raw.lxc may set hooks and confinement keys (--allow-raw-lxc-hooks): whoever can write a profile or an instance's config runs commands as host root")
	}
	if o.AllowShiftedHostPaths {
		log.Warn("disk devices may shift host paths (--allow-shifted-host-paths): container root acts as host root on those files")
	}
	for _, d := range []string{"containers", "images", "networks"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o711); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("clean %s: %w", tmp, err)
	}

	// A cluster member's database is the cluster's, in dqlite; otherwise the SQLite file.
	cl, database, err := cluster.Open(ctx, dir, filepath.Join(dir, dbFile), log)
	if err != nil {
		return err
	}
	defer func() {
		// After the database (deferred below, so it runs first): the node serves it.
		cctx, cancel := context.WithTimeout(context.Background(), clusterCloseTimeout)
		defer cancel()
		if err := cl.Close(cctx); err != nil {
			log.Warn("stop the cluster database node", "err", err)
		}
	}()
	defer closeDatabase(database, log)
	store := &images.Store{Dir: filepath.Join(dir, "images"), MaxBytes: o.ImageMaxBytes}
	if err := store.CleanTemp(); err != nil {
		return err
	}
	if err := store.Secure(); err != nil {
		return err
	}
	hub := events.NewHub()
	rt := lxcdriver.New(filepath.Join(dir, "containers"))
	rt.Log = log
	driver, err := storage.Choose(o.Storage)
	if err != nil {
		return err
	}
	pool := &storage.Pool{Dir: filepath.Join(dir, "containers"), Driver: driver}
	if err := pool.Open(); err != nil {
		return err
	}
	defer func() {
		if err := pool.Close(); err != nil {
			log.Warn("unmount the container directory", "err", err)
		}
	}()
	defaultMap := idmap.Map{UID: uids.Start, GID: gids.Start, Size: idmap.Size}
	imgs := &imagesvc.Service{DB: database, Store: store, TmpDir: tmp, Log: log, IDMap: &defaultMap, Peers: imagePeers{cl, database},
		StreamsCache: filepath.Join(dir, "cache", "simplestreams"),
		Builder:      &images.Builder{CacheDir: o.BuildCache, Mirror: o.Mirror, UbuntuMirror: o.UbuntuMirror, UbuntuKeyring: o.UbuntuKeyring}}
	if err := imgs.Sweep(ctx); err != nil {
		return fmt.Errorf("recover image store: %w", err)
	}
	if found, left := rt.SettleStarts(ctx, 10*time.Second); left > 0 {
		log.Warn("starts a previous lited began still run; their nic filters may outlive them", "count", left)
	} else if found > 0 {
		log.Info("waited for the starts a previous lited began", "count", found)
	}
	nets, err := startNetworks(ctx, o, dir, database, cl)
	if err != nil {
		return err
	}
	defer nets.Detach()
	fs, err := lxcfs.Ensure(dir, log)
	if err != nil {
		log.Warn("running without lxcfs", "err", err)
	}
	lxcfsDir := ""
	if fs != nil {
		lxcfsDir = fs.Dir
	}
	cgroups := instance.DetectCgroups()
	devices := deviceHandlers(nets, rt, log)
	devices["disk"] = &device.Disk{StateDir: dir, AllowShift: o.AllowShiftedHostPaths}
	devices["unix-char"], devices["unix-block"] = device.NewUnixHandlers(dir, cgroups)
	svc := instance.New(instance.Config{
		DB: database, Runtime: rt, Pool: pool, Images: imgs, Hub: hub, Log: log, IDMap: defaultMap,
		Cgroups: cgroups, Lxcfs: lxcfsDir, Devices: devices, NetState: device.NetState,
		AllowRawLXCHooks: o.AllowRawLXCHooks, Node: cl.LocalName,
	})
	mgr := svc.Instances
	if err := svc.Recovery.Recover(ctx); err != nil {
		return fmt.Errorf("recover state: %w", err)
	}
	if err := svc.Recovery.RestoreDevices(ctx); err != nil {
		return fmt.Errorf("restore devices: %w", err)
	}
	// The daemon's own background loops end with ctx; shutdown waits for them (bounded) so
	// none of them still writes while the database closes.
	var bg sync.WaitGroup
	background := func(fn func(context.Context)) {
		bg.Add(1)
		go func() { defer bg.Done(); fn(ctx) }()
	}
	background(svc.Scheduler.RunScheduler)

	// Subscribed before anything starts, so the labs see every instance start (autostart too).
	labEvents := hub.Subscribe(api.EventTypeLifecycle)
	ops := operations.NewManager(ctx, hub)
	srv := &server.Server{
		Instances: mgr, Snapshots: svc.Snapshots, Backups: svc.Backups, Profiles: svc.Profiles, Metadata: svc.Metadata, Files: svc.Files,
		Networks: nets, Images: imgs, Settings: &settings.Service{DB: database, Member: cl}, Ops: ops, Hub: hub, Log: log,
		Info: serverInfo(pool.Driver), Cluster: cl, Route: cl, Placement: database,
		Labs: &lab.Service{DB: database, Instances: mgr, Networks: nets, Runtime: rt, Snap: svc.Snapshots, Images: imgs, Log: log, Member: cl.LocalName,
			Hosts: &lab.HostsFile{Path: hostsFile(o.HostsFile), Marker: dir}},
	}
	httpsLn, err := startHTTPS(ctx, dir, o.HTTPS, srv, log)
	if err != nil {
		return err
	}
	sock := filepath.Join(dir, "unix.socket")
	ln, err := listen(sock)
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	log.Info("lited ready", "dir", dir, "socket", sock, "storage", pool.Driver, "idmap", fmt.Sprintf("%d:%d", uids.Start, gids.Start))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	background(func(ctx context.Context) { srv.Labs.Watch(ctx, labEvents) })
	background(svc.Scheduler.Autostart)
	select {
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		httpsLn.Close(sctx)
		// The operations' contexts ended with ctx; their goroutines get a bound to clean up.
		octx, ocancel := context.WithTimeout(context.Background(), opsShutdownTimeout)
		defer ocancel()
		if err := ops.Shutdown(octx); err != nil {
			log.Warn("stop operations", "err", err)
		}
		if !waitGroup(octx, &bg) {
			log.Warn("stop background loops: still running after the bound")
		}
		_ = os.Remove(sock)
		fs.Release(func() bool { return mgr.AnyRunning(sctx) })
		log.Info("lited stopped; containers keep running")
		return nil
	case err := <-errc:
		return err
	}
}

// listen opens the API socket: 0660, owned by root and group "lite" when that group exists.
// The lock file already proved no other lited uses this dir, so a socket file left there
// is stale.
func listen(sock string) (net.Listener, error) {
	if err := os.Remove(sock); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket: %w", err)
	}
	old := unix.Umask(0o077)
	ln, err := net.Listen("unix", sock)
	unix.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", sock, err)
	}
	gid := 0
	if g, err := user.LookupGroup("lite"); err == nil {
		gid, _ = strconv.Atoi(g.Gid)
	}
	if err := os.Chown(sock, 0, gid); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chown socket: %w", err)
	}
	if err := os.Chmod(sock, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return ln, nil
}

func serverInfo(storageDriver string) func() api.Server {
	var uts unix.Utsname
	_ = unix.Uname(&uts)
	kernel := unix.ByteSliceToString(uts.Release[:])
	host, _ := os.Hostname()
	osName, osVersion := osRelease()
	return func() api.Server {
		return api.Server{
			ServerPut:     api.ServerPut{Config: map[string]string{}},
			APIExtensions: server.Extensions(), APIStatus: "stable", APIVersion: "1.0", Auth: "trusted",
			AuthMethods: []string{"tls"},
			Environment: api.ServerEnvironment{
				Addresses: []string{}, Architectures: []string{"x86_64", "i686"},
				Driver: "lxc", DriverVersion: lxcdriver.Version(), Firewall: "nftables",
				Kernel: "Linux", KernelArchitecture: runtime.GOARCH, KernelVersion: kernel,
				KernelFeatures: map[string]string{}, LXCFeatures: map[string]string{},
				OSName: osName, OSVersion: osVersion, Project: "default", Server: "lite",
				ServerEventMode: "full-mesh", ServerName: host, ServerPid: os.Getpid(),
				ServerVersion: Version, Storage: storageDriver, StorageVersion: "1",
				StorageSupportedDrivers: []any{},
			},
		}
	}
}

func osRelease() (string, string) {
	b, err := os.ReadFile("/etc/os-release")
	if err != nil {
		return "", ""
	}
	var name, version string
	for _, l := range splitLines(string(b)) {
		if v, ok := cut(l, "NAME="); ok {
			name = v
		}
		if v, ok := cut(l, "VERSION_ID="); ok {
			version = v
		}
	}
	return name, version
}

// hostsFile is where lab node names go: the option, or /etc/hosts.
func hostsFile(p string) string {
	if p == "" {
		return "/etc/hosts"
	}
	return p
}

// waitGroup waits for wg until ctx ends; it says whether wg finished.
func waitGroup(ctx context.Context, wg *sync.WaitGroup) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

// closeDatabase closes the database, giving up after dbCloseTimeout: a cluster member's
// connection to a leader that is gone must not keep lited from exiting.
func closeDatabase(d interface{ Close() error }, log *slog.Logger) {
	done := make(chan error, 1)
	go func() { done <- d.Close() }()
	select {
	case err := <-done:
		if err != nil {
			log.Warn("close the database", "err", err)
		}
	case <-time.After(dbCloseTimeout):
		log.Warn("close the database: still closing after the bound; exiting without waiting", "bound", dbCloseTimeout)
	}
}
