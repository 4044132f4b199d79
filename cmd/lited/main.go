// Command lited is lite's daemon: it owns LITE_DIR and serves the API on its unix socket.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"lite/lxd-lite/daemon"
	"lite/profiles"
)

func main() {
	dir := os.Getenv("LITE_DIR")
	if dir == "" {
		dir = "/var/lib/lite"
	}
	cache := os.Getenv("LITE_BUILD_CACHE")
	if cache == "" {
		cache = "/var/cache/lite/images"
	}
	fs := flag.NewFlagSet("lited", flag.ExitOnError)
	fs.StringVar(&dir, "dir", dir, "state directory (env LITE_DIR)")
	fs.StringVar(&cache, "build-cache", cache, "cache of built images, kept across state dirs (env LITE_BUILD_CACHE)")
	mirror := fs.String("mirror", os.Getenv("LITE_MIRROR"), "Debian mirror for image builds (env LITE_MIRROR; default: debootstrap's)")
	defNet := fs.String("default-network", os.Getenv("LITE_DEFAULT_NETWORK"), "name of the network made on the first start (env LITE_DEFAULT_NETWORK; default litebr0)")
	nat := fs.Bool("default-nat", envBool("LITE_DEFAULT_NAT", true), "ipv4.nat of the default network and of automatic subnets (env LITE_DEFAULT_NAT)")
	rawHooks := fs.Bool("allow-raw-lxc-hooks", envBool("LITE_ALLOW_RAW_LXC_HOOKS", false),
		"let raw.lxc set hooks, apparmor, seccomp, capabilities, mounts, namespaces and devices: host root for whoever writes a profile (env LITE_ALLOW_RAW_LXC_HOOKS)")
	shifted := fs.Bool("allow-shifted-host-paths", envBool("LITE_ALLOW_SHIFTED_HOST_PATHS", false),
		"let disk devices mount host paths with shift=true: container root acts as host root on those files (env LITE_ALLOW_SHIFTED_HOST_PATHS)")
	table := fs.String("nft-table", os.Getenv("LITE_NFT_TABLE"), "name of lite's nftables table (env LITE_NFT_TABLE; default lite for /var/lib/lite, else derived from the state dir)")
	ubuntuMirror := fs.String("ubuntu-mirror", os.Getenv("LITE_UBUNTU_MIRROR"), "Ubuntu archive for ubuntu/* image builds (env LITE_UBUNTU_MIRROR)")
	ubuntuKeyring := fs.String("ubuntu-keyring", os.Getenv("LITE_UBUNTU_KEYRING"), "Ubuntu archive keyring file for ubuntu/* builds (env LITE_UBUNTU_KEYRING)")
	maxImage := fs.Int64("image-max-size", 0, "largest size in bytes an image may expand to when unpacked (default 64 GiB)")
	storageDriver := fs.String("storage", os.Getenv("LITE_STORAGE"), "storage driver: overlay or dir (env LITE_STORAGE; default overlay where the kernel has it); choose it before creating containers, lited does not convert between them")
	https := fs.String("https", os.Getenv("LITE_HTTPS"), "also serve the API over HTTPS (TLS 1.3) on ADDR while core.https_address is unset (env LITE_HTTPS)")
	debug := fs.Bool("debug", false, "log debug messages")
	pprofAddr := fs.String("pprof", "", "serve Go profiles (/debug/pprof/) on this loopback HOST:PORT, e.g. 127.0.0.1:6060 (off by default; any local user can read them)")
	version := fs.Bool("version", false, "print the version and exit")
	_ = fs.Parse(os.Args[1:])
	if *version {
		fmt.Println(daemon.Version)
		return
	}
	if *pprofAddr != "" {
		if err := daemon.CheckPprofAddr(*pprofAddr); err != nil {
			fmt.Fprintln(os.Stderr, "Error: --pprof:", err)
			os.Exit(2)
		}
	}
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "Error: lited must run as root (it creates containers, mounts and cgroups)")
		os.Exit(1)
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go exitIfStuck(ctx, log)
	if *pprofAddr != "" {
		if _, _, err := daemon.ServePprof(ctx, *pprofAddr, log); err != nil {
			fmt.Fprintln(os.Stderr, "Error:", err)
			os.Exit(1)
		}
	}
	if err := daemon.Run(ctx, daemon.Options{Dir: dir, BuildCache: cache, Mirror: *mirror, Log: log, HostsFile: os.Getenv("LITE_HOSTS_FILE"),
		DefaultNetwork: *defNet, DefaultNAT: *nat, NFTTable: *table,
		ImageMaxBytes: *maxImage, Storage: *storageDriver, HTTPS: *https, UbuntuMirror: *ubuntuMirror, UbuntuKeyring: *ubuntuKeyring,
		AllowRawLXCHooks: *rawHooks, AllowShiftedHostPaths: *shifted}); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// shutdownLimit bounds lited's whole shutdown. Each step has a bound of its own; this one
// holds whatever blocks (a cluster database without quorum, a stuck driver call), so a
// SIGTERM never leaves an orphaned lited behind. Containers keep running either way.
const shutdownLimit = 40 * time.Second

// exitIfStuck exits lited shutdownLimit after ctx ended (SIGTERM or SIGINT) if it has not
// exited by then.
func exitIfStuck(ctx context.Context, log *slog.Logger) {
	<-ctx.Done()
	time.Sleep(shutdownLimit)
	log.Error("lited did not stop within the shutdown limit: exiting now (containers keep running); its goroutines follow", "limit", shutdownLimit)
	_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
	os.Exit(1)
}

// envBool reads a boolean environment variable (profiles.ParseBool); unset or empty gives
// def, and a value that is not a boolean stops lited with an error naming the variable.
func envBool(name string, def bool) bool {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	b, err := profiles.ParseBool(v)
	if err != nil {
		fmt.Fprintf(os.Stderr, "Error: %s: %v\n", name, err)
		os.Exit(2)
	}
	return b
}
