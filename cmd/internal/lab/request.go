package lab

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strings"

	"lite/client/api"
	labfile "lite/profiles/lab"
)

// maxSent bounds one file a lab sends to lited (the API body is bounded too).
const maxSent = 1 << 20

// request reads and validates the lab file at path and gathers the host files it names, so
// that a bad file fails here with file:line:col before anything is sent.
func request(path string) (*labfile.Lab, api.LabsPost, error) {
	req := api.LabsPost{Filename: path, Files: map[string][]byte{}}
	resolved, err := labfile.Load(path)
	if err != nil {
		return nil, req, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, req, fmt.Errorf("lab file: %w", err)
	}
	req.Source = string(data)
	// Parsed without a directory, sources keep the names written in the file: those are the
	// keys lited looks them up by. Both parses list nodes and files in the same order.
	written, err := labfile.Parse(path, data, "")
	if err != nil {
		return nil, req, err
	}
	home := invokingHome()
	for i, n := range written.Nodes {
		for j, f := range n.Files {
			if err := readInto(req.Files, f.Source, resolved.Nodes[i].Files[j].Source); err != nil {
				return nil, req, fmt.Errorf("node %s: %w", n.Name, err)
			}
		}
		for _, k := range n.SSHKeys {
			if err := readInto(req.Files, k, expandHome(k, home, filepath.Dir(path))); err != nil {
				return nil, req, fmt.Errorf("node %s: ssh_keys: %w", n.Name, err)
			}
		}
	}
	req.DefaultSSHKeys = defaultKeys(home)
	return resolved, req, nil
}

func readInto(files map[string][]byte, key, path string) error {
	if _, done := files[key]; done {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s: %w: %w", key, err, api.ErrInvalid)
	}
	if !st.Mode().IsRegular() || st.Size() > maxSent {
		return fmt.Errorf("%s: not a regular file of at most 1 MiB: %w", path, api.ErrInvalid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	files[key] = b
	return nil
}

// invokingHome is the home of the user who ran lite: SUDO_USER's under sudo.
func invokingHome() string {
	if name := os.Getenv("SUDO_USER"); name != "" {
		if u, err := user.Lookup(name); err == nil {
			return u.HomeDir
		}
	}
	if h, err := os.UserHomeDir(); err == nil {
		return h
	}
	return ""
}

func expandHome(p, home, dir string) string {
	switch {
	case p == "~" || strings.HasPrefix(p, "~/"):
		return filepath.Join(home, strings.TrimPrefix(p, "~"))
	case filepath.IsAbs(p):
		return p
	}
	return filepath.Join(dir, p)
}

// defaultKeys are the public keys in the invoking user's ~/.ssh, for nodes that name none.
func defaultKeys(home string) []string {
	if home == "" {
		return []string{}
	}
	paths, err := filepath.Glob(filepath.Join(home, ".ssh", "*.pub"))
	if err != nil {
		return []string{}
	}
	sort.Strings(paths)
	keys := []string{}
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil && len(b) < 16<<10 {
			if k := strings.TrimSpace(string(b)); k != "" {
				keys = append(keys, k)
			}
		}
	}
	return keys
}
