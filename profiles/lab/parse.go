package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"gopkg.in/yaml.v3"

	"lite/client/api"
)

// maxFileSize bounds a lab file; a real one is a few KiB.
const maxFileSize = 1 << 20

// rawNode is a node entry as written, before its range is expanded and defaults applied.
type rawNode struct {
	key  string
	at   Pos
	spec NodeSpec
	// specAt is where each NodeSpec field was given, for errors.
	specAt    map[string]Pos
	groups    []string
	nics      []NIC
	nicIPAt   map[string]Pos
	files     []File
	run       []string
	dependsOn []posString
}

type posString struct {
	s  string
	at Pos
}

// rawLink is a link as written.
type rawLink struct {
	at     Pos
	ends   []posString
	ipv4   []posString
	impair Impair
	path   string
}

// parsed is the whole file as written.
type parsed struct {
	name     string
	nameAt   Pos
	defaults NodeSpec
	defAt    map[string]Pos
	networks []Network
	nodes    []rawNode
	links    []rawLink
	checks   []Check
}

// Load reads and validates the lab file at path. Relative file sources are resolved against
// the file's directory and must exist.
func Load(path string) (*Lab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("lab file: %w (give another with -f FILE): %w", err, api.ErrInvalid)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("lab file %s: %w", path, err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxFileSize {
		return nil, fmt.Errorf("lab file %s: not a regular file of at most 1 MiB: %w", path, api.ErrInvalid)
	}
	data := make([]byte, st.Size())
	if _, err := f.ReadAt(data, 0); err != nil && st.Size() > 0 {
		return nil, fmt.Errorf("lab file %s: %w", path, err)
	}
	return Parse(path, data, filepath.Dir(path))
}

// Parse validates a lab file's contents. file names it in errors; dir is where relative file
// sources are resolved (empty: sources are not checked on disk).
func Parse(file string, data []byte, dir string) (*Lab, error) {
	r := &reader{errs: errs{file: file}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		r.add(Pos{Line: yamlErrLine(err), Col: 1}, "", "not valid YAML: %v", err)
		return nil, r.result()
	}
	if len(doc.Content) == 0 {
		r.add(Pos{Line: 1, Col: 1}, "", "the file is empty (it needs at least name: and nodes:)")
		return nil, r.result()
	}
	p := r.top(doc.Content[0])
	lab := r.build(p, dir)
	if err := r.result(); err != nil {
		return nil, err
	}
	return lab, nil
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1]) // the regexp matched digits
		return n
	}
	return 0
}

func (r *reader) top(root *yaml.Node) *parsed {
	p := &parsed{defAt: map[string]Pos{}}
	seen := map[string]bool{}
	for _, kv := range r.mapping(root, "", "name", "defaults", "networks", "nodes", "links", "checks") {
		seen[kv.key] = true
		switch kv.key {
		case "name":
			p.name, _ = r.str(kv.val, "name")
			p.nameAt = pos(deref(kv.val))
		case "defaults":
			p.defaults = r.spec(kv.val, "defaults", p.defAt, nil)
		case "networks":
			p.networks = r.networks(kv.val)
		case "nodes":
			p.nodes = r.nodes(kv.val)
		case "links":
			p.links = r.links(kv.val)
		case "checks":
			p.checks = r.checks(kv.val)
		}
	}
	at := pos(deref(root))
	if !seen["name"] {
		r.add(at, "name", "required: the lab's name (lowercase letters, digits, dashes; at most 12 characters)")
	}
	if !seen["nodes"] {
		r.add(at, "nodes", "required: at least one node")
	}
	return p
}

// specKeys are the keys a node shares with the defaults block.
var specKeys = []string{"image", "packages", "profiles", "config", "ssh_keys", "user", "target"}

// spec reads the NodeSpec keys of a mapping; other keys go to rest (nil: refused).
func (r *reader) spec(n *yaml.Node, path string, at map[string]Pos, rest func(pair)) NodeSpec {
	var s NodeSpec
	allowed := specKeys
	if rest != nil {
		allowed = append(append([]string{}, specKeys...), nodeKeys...)
	}
	for _, kv := range r.mapping(n, path, allowed...) {
		kp := join(path, kv.key)
		at[kv.key] = pos(deref(kv.val))
		switch kv.key {
		case "image":
			s.Image, _ = r.str(kv.val, kp)
		case "packages":
			s.Packages = r.strList(kv.val, kp)
		case "profiles":
			s.Profiles = r.strList(kv.val, kp)
		case "config":
			s.Config = r.strMap(kv.val, kp)
		case "ssh_keys":
			s.SSHKeys = r.strList(kv.val, kp)
		case "user":
			s.User, _ = r.str(kv.val, kp)
		case "target":
			s.Target, _ = r.str(kv.val, kp)
		default:
			rest(kv)
		}
	}
	return s
}

func (r *reader) networks(n *yaml.Node) []Network {
	var out []Network
	for _, kv := range r.mapping(n, "networks") {
		path := join("networks", kv.key)
		net := Network{Name: kv.key, At: kv.at}
		for _, f := range r.mapping(kv.val, path, "ipv4", "nat", "dhcp", "dns.domain") {
			fp := join(path, f.key)
			switch f.key {
			case "ipv4":
				net.IPv4, _ = r.str(f.val, fp)
			case "nat":
				net.NAT = r.boolean(f.val, fp)
			case "dhcp":
				net.DHCP = r.boolean(f.val, fp)
			case "dns.domain":
				net.Domain, _ = r.str(f.val, fp)
			}
		}
		out = append(out, net)
	}
	return out
}

// nodeKeys are the keys only a node has.
var nodeKeys = []string{"groups", "nics", "files", "run", "depends_on"}

func (r *reader) nodes(n *yaml.Node) []rawNode {
	var out []rawNode
	for _, kv := range r.mapping(n, "nodes") {
		path := join("nodes", kv.key)
		rn := rawNode{key: kv.key, at: kv.at, specAt: map[string]Pos{}, nicIPAt: map[string]Pos{}}
		rn.spec = r.spec(kv.val, path, rn.specAt, func(f pair) {
			fp := join(path, f.key)
			switch f.key {
			case "groups":
				rn.groups = r.strList(f.val, fp)
			case "nics":
				rn.nics = r.nics(f.val, fp, rn.nicIPAt)
			case "files":
				rn.files = r.files(f.val, fp)
			case "run":
				rn.run = r.strList(f.val, fp)
			case "depends_on":
				for i, item := range r.list(f.val, fp) {
					if s, ok := r.str(item, fmt.Sprintf("%s[%d]", fp, i)); ok {
						rn.dependsOn = append(rn.dependsOn, posString{s, pos(deref(item))})
					}
				}
			}
		})
		out = append(out, rn)
	}
	return out
}

func (r *reader) nics(n *yaml.Node, path string, ipAt map[string]Pos) []NIC {
	var out []NIC
	for _, kv := range r.mapping(n, path) {
		np := join(path, kv.key)
		nic := NIC{Name: kv.key, At: kv.at}
		hasNet := false
		for _, f := range r.mapping(kv.val, np, "network", "ipv4") {
			switch f.key {
			case "network":
				nic.Network, hasNet = r.str(f.val, join(np, f.key))
			case "ipv4":
				nic.IPv4, _ = r.str(f.val, join(np, f.key))
				ipAt[kv.key] = pos(deref(f.val))
			}
		}
		if !hasNet {
			r.add(kv.at, join(np, "network"), "required: the lab network this interface is on")
		}
		out = append(out, nic)
	}
	return out
}

func (r *reader) files(n *yaml.Node, path string) []File {
	var out []File
	for i, item := range r.list(n, path) {
		ip := fmt.Sprintf("%s[%d]", path, i)
		f := File{Mode: "0644"}
		for _, kv := range r.mapping(item, ip, "source", "path", "mode", "uid", "gid") {
			fp := join(ip, kv.key)
			switch kv.key {
			case "source":
				f.Source, _ = r.str(kv.val, fp)
			case "path":
				f.Path, _ = r.str(kv.val, fp)
			case "mode":
				f.Mode, _ = r.str(kv.val, fp)
			case "uid":
				f.UID = r.integer(kv.val, fp, 0, 65535)
			case "gid":
				f.GID = r.integer(kv.val, fp, 0, 65535)
			}
		}
		r.checkFile(f, pos(deref(item)), ip)
		out = append(out, f)
	}
	return out
}

func (r *reader) links(n *yaml.Node) []rawLink {
	var out []rawLink
	for i, item := range r.list(n, "links") {
		path := fmt.Sprintf("links[%d]", i)
		l := rawLink{at: pos(deref(item)), path: path}
		for _, kv := range r.mapping(item, path, "endpoints", "ipv4", "impair") {
			fp := join(path, kv.key)
			switch kv.key {
			case "endpoints", "ipv4":
				var list []posString
				for j, e := range r.list(kv.val, fp) {
					if s, ok := r.str(e, fmt.Sprintf("%s[%d]", fp, j)); ok {
						list = append(list, posString{s, pos(deref(e))})
					}
				}
				if kv.key == "endpoints" {
					l.ends = list
				} else {
					l.ipv4 = list
				}
			case "impair":
				l.impair = r.impair(kv.val, fp)
			}
		}
		out = append(out, l)
	}
	return out
}

func (r *reader) impair(n *yaml.Node, path string) Impair {
	var im Impair
	for _, kv := range r.mapping(n, path, "delay", "jitter", "loss", "rate") {
		fp := join(path, kv.key)
		s, ok := r.str(kv.val, fp)
		if !ok {
			continue
		}
		if err := checkImpair(kv.key, s); err != nil {
			r.add(pos(deref(kv.val)), fp, "%v", err)
			continue
		}
		switch kv.key {
		case "delay":
			im.Delay = s
		case "jitter":
			im.Jitter = s
		case "loss":
			im.Loss = s
		case "rate":
			im.Rate = s
		}
	}
	return im
}

func (r *reader) checks(n *yaml.Node) []Check {
	var out []Check
	for i, item := range r.list(n, "checks") {
		path := fmt.Sprintf("checks[%d]", i)
		c := Check{At: pos(deref(item))}
		for _, kv := range r.mapping(item, path, "from", "ping", "tcp") {
			fp := join(path, kv.key)
			switch kv.key {
			case "from":
				c.From, _ = r.str(kv.val, fp)
			case "ping":
				c.Ping, _ = r.str(kv.val, fp)
			case "tcp":
				c.TCP, _ = r.str(kv.val, fp)
			}
		}
		out = append(out, c)
	}
	return out
}
