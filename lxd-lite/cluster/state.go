package cluster

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"

	"lite/client/api"
	"lite/client/trust"
)

// Files under $LITE_DIR/cluster. member.json is written last, atomically: while it is
// missing the directory is the leftover of an enable or join that did not finish, and the
// SQLite database stays authoritative.
const (
	stateDir   = "cluster"
	memberFile = "member.json"
	certFile   = "cluster.crt"
	keyFile    = "cluster.key"
	dqliteDir  = "dqlite"
	// sqliteAside is where the SQLite database goes once its rows live in dqlite.
	sqliteAside = ".before-cluster"
)

// member is what a member knows of itself, kept in member.json.
type member struct {
	Name      string `json:"name"`
	Address   string `json:"address"`    // HTTPS, HOST:PORT
	DBAddress string `json:"db_address"` // dqlite, HOST:PORT
}

func (s *Service) path(parts ...string) string {
	return filepath.Join(append([]string{s.dir, stateDir}, parts...)...)
}

// readMember returns member.json, or ok false when lited is not a member.
func readMember(dir string) (member, bool, error) {
	b, err := os.ReadFile(filepath.Join(dir, stateDir, memberFile))
	if errors.Is(err, fs.ErrNotExist) {
		return member{}, false, nil
	}
	if err != nil {
		return member{}, false, fmt.Errorf("read cluster member state: %w", err)
	}
	var m member
	if err := json.Unmarshal(b, &m); err != nil || m.Name == "" || m.DBAddress == "" {
		return member{}, false, fmt.Errorf("cluster member state %s is damaged (%v): restore it or move %s away to start as a single host",
			filepath.Join(dir, stateDir, memberFile), err, filepath.Join(dir, stateDir))
	}
	return m, true, nil
}

// IsMember reports whether the lited of state dir dir is a cluster member (its database is
// in dqlite, not in the SQLite file).
func IsMember(dir string) bool {
	_, ok, err := readMember(dir)
	return ok || err != nil
}

// writeMember writes member.json atomically (temp file, fsync, rename).
func (s *Service) writeMember(m member) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := s.path(memberFile + ".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("write cluster member state: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write cluster member state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write cluster member state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write cluster member state: %w", err)
	}
	if err := os.Rename(tmp, s.path(memberFile)); err != nil {
		return fmt.Errorf("write cluster member state: %w", err)
	}
	return syncDir(s.path())
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// freshStateDir removes what an unfinished enable or join left and makes an empty state
// directory (0700: it holds the cluster key).
func (s *Service) freshStateDir() error {
	if err := os.RemoveAll(s.path()); err != nil {
		return fmt.Errorf("remove a half-made cluster state %s: %w", s.path(), err)
	}
	if err := os.MkdirAll(s.path(dqliteDir), 0o700); err != nil {
		return fmt.Errorf("create cluster state: %w", err)
	}
	return os.Chmod(s.path(), 0o700)
}

// memberAddresses checks the HTTPS address a member is reached at (it must name a host
// the others can reach: not empty, not a wildcard) and returns it with the dqlite address:
// dbAddr, or the HTTPS port plus one on the same host.
func memberAddresses(https, dbAddr string) (string, string, error) {
	if https == "" {
		return "", "", fmt.Errorf("core.https_address is not set: a cluster member must serve the API over HTTPS; set it first (lite config set core.https_address HOST:PORT): %w", api.ErrInvalid)
	}
	host, port, err := net.SplitHostPort(https)
	if err != nil {
		return "", "", fmt.Errorf("core.https_address %q: %v: %w", https, err, api.ErrInvalid)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		return "", "", fmt.Errorf("core.https_address %q listens on every address; other members need one to reach this server by: set it to HOST:PORT of this server: %w", https, api.ErrInvalid)
	}
	if dbAddr == "" {
		p, err := strconv.Atoi(port)
		if err != nil || p >= 65535 {
			return "", "", fmt.Errorf("core.https_address %q: no port after it for the database; give database_address: %w", https, api.ErrInvalid)
		}
		dbAddr = net.JoinHostPort(host, strconv.Itoa(p+1))
	}
	if _, _, err := net.SplitHostPort(dbAddr); err != nil {
		return "", "", fmt.Errorf("database address %q: %v: %w", dbAddr, err, api.ErrInvalid)
	}
	return https, dbAddr, nil
}

// loadCert loads the cluster key pair and the certificate's PEM.
func loadCert(certPath, keyPath string) (tls.Certificate, string, error) {
	// KeyPair would make a new pair when both are missing: a member must never do that.
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Stat(p); err != nil {
			return tls.Certificate{}, "", fmt.Errorf("cluster certificate: %w", err)
		}
	}
	pair, err := trust.KeyPair(certPath, keyPath, "lite-cluster")
	if err != nil {
		return tls.Certificate{}, "", fmt.Errorf("cluster certificate: %w", err)
	}
	return pair, trust.EncodePEM(pair.Certificate[0]), nil
}

// serverPair defaults the HTTPS key pair files to lited's own (server.crt, server.key).
func (s *Service) serverPair(certPath, keyPath string) (string, string) {
	if certPath == "" {
		certPath = filepath.Join(s.dir, "server.crt")
	}
	if keyPath == "" {
		keyPath = filepath.Join(s.dir, "server.key")
	}
	return certPath, keyPath
}

// loadCertPair loads an existing key pair (never makes one).
func loadCertPair(certPath, keyPath string) (tls.Certificate, error) {
	pair, _, err := loadCert(certPath, keyPath)
	return pair, err
}
