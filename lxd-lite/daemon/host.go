package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// sysctls are host limits that many system containers exhaust: every systemd holds about 8
// inotify instances and all default containers share one host uid, so Debian's default of
// 128 stops the 17th container. lited raises them (never lowers) and logs what it changed.
var sysctls = []struct {
	key string
	min int64
}{
	{"fs.inotify.max_user_instances", 1024},
	{"fs.inotify.max_user_watches", 1048576},
	{"fs.inotify.max_queued_events", 1048576},
	{"kernel.keys.maxkeys", 2000},
	{"kernel.keys.maxbytes", 2000000},
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
