package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysctls are host limits that many system containers exhaust. Default containers share
// one host uid for root, and the per-user limits count all of them together. Measured with
// Debian 12 containers (lite's image): each holds ~8 inotify instances and ~18 keys (330
// bytes), so Debian's defaults stop the 17th container (128 instances), and the old
// values here the ~114th (1024 instances, 2000 keys: a density run stopped at 113 with
// resolved failing "Too many open files"). Sized for thousands, as LXD's production
// setup advises for inotify; neighbour tables for ~1000 containers on the host's
// bridges (a bridge takes 1024 ports). lited raises them (never lowers) and logs it.
var sysctls = []struct {
	key string
	min int64
}{
	{"fs.inotify.max_user_instances", 1048576},
	{"fs.inotify.max_user_watches", 1048576},
	{"fs.inotify.max_queued_events", 1048576},
	{"kernel.keys.maxkeys", 200000},
	{"kernel.keys.maxbytes", 25000000},
	{"net.ipv4.neigh.default.gc_thresh2", 4096},
	{"net.ipv4.neigh.default.gc_thresh3", 8192},
}

func raiseSysctls(log *slog.Logger) {
	for _, s := range sysctls {
		path := "/proc/sys/" + strings.ReplaceAll(s.key, ".", "/")
		b, err := os.ReadFile(path)
		if err != nil {
			log.Warn("cannot read sysctl", "key", s.key, "err", err)
			continue
		}
		cur, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || cur >= s.min {
			continue
		}
		if err := os.WriteFile(path, []byte(strconv.FormatInt(s.min, 10)), 0o644); err != nil {
			log.Warn("cannot raise sysctl; many containers may fail to boot", "key", s.key, "from", cur, "to", s.min, "err", err)
			continue
		}
		log.Info("raised sysctl for container density", "key", s.key, "from", cur, "to", s.min)
	}
}

// checkSearchable makes sure container root (an unprivileged host uid) can reach the image
// layers under dir: every ancestor needs the execute bit for others.
func checkSearchable(dir string) error {
	for p := dir; ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s is not searchable by others (mode %04o), so unprivileged containers cannot reach their files under %s: run \"chmod o+x %s\" or choose another LITE_DIR", p, st.Mode().Perm(), dir, p)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}
