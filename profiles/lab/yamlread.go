package lab

import (
	"lite/profiles"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// reader walks the YAML tree by hand, so every error knows its line, column and key path,
// and unknown keys are refused wherever they appear.
type reader struct {
	errs
}

// pair is one key and its value in a mapping.
type pair struct {
	key string
	at  Pos
	val *yaml.Node
}

func pos(n *yaml.Node) Pos { return Pos{Line: n.Line, Col: n.Column} }

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// deref follows YAML aliases (*anchor) to the node they name.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 16; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return "a value"
	}
	return "something else"
}

// mapping returns the pairs of a mapping node. With allowed keys given, any other key is an
// error; a key given twice is always one. An empty value (null) is an empty mapping.
func (r *reader) mapping(n *yaml.Node, path string, allowed ...string) []pair {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		r.add(pos(n), path, "expected a mapping (key: value), found %s", kindName(n))
		return nil
	}
	seen := map[string]bool{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			r.add(pos(k), path, "expected a key, found %s", kindName(k))
			continue
		}
		if seen[k.Value] {
			r.add(pos(k), join(path, k.Value), "key given twice")
			continue
		}
		seen[k.Value] = true
		if len(allowed) > 0 && !contains(allowed, k.Value) {
			r.add(pos(k), join(path, k.Value), "unknown key (expected one of: %s)", strings.Join(allowed, ", "))
			continue
		}
		out = append(out, pair{key: k.Value, at: pos(k), val: v})
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// str returns a scalar's text; a list or mapping is an error.
func (r *reader) str(n *yaml.Node, path string) (string, bool) {
	n = deref(n)
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		r.add(pos(n), path, "expected a value, found %s", kindName(n))
		return "", false
	}
	return n.Value, true
}

// strList returns a list of scalars. An empty list is non-nil, so "set to nothing" differs
// from "not set" when defaults are applied.
func (r *reader) strList(n *yaml.Node, path string) []string {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		r.add(pos(n), path, "expected a list ([a, b]), found %s", kindName(n))
		return nil
	}
	out := []string{}
	for i, item := range n.Content {
		if s, ok := r.str(item, path+"["+strconv.Itoa(i)+"]"); ok {
			out = append(out, s)
		}
	}
	return out
}

// list returns the items of a sequence node.
func (r *reader) list(n *yaml.Node, path string) []*yaml.Node {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		r.add(pos(n), path, "expected a list, found %s", kindName(n))
		return nil
	}
	return n.Content
}

func (r *reader) boolean(n *yaml.Node, path string) *bool {
	s, ok := r.str(n, path)
	if !ok {
		return nil
	}
	b, err := profiles.ParseBool(s)
	if err != nil {
		r.add(pos(deref(n)), path, "expected true or false, found %q", s)
		return nil
	}
	return &b
}

func (r *reader) integer(n *yaml.Node, path string, lo, hi int) int {
	s, ok := r.str(n, path)
	if !ok {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		r.add(pos(deref(n)), path, "expected a whole number from %d to %d, found %q", lo, hi, s)
		return 0
	}
	return v
}

// strMap reads a mapping of keys to scalar values (config).
func (r *reader) strMap(n *yaml.Node, path string) map[string]string {
	out := map[string]string{}
	for _, p := range r.mapping(n, path) {
		if v, ok := r.str(p.val, join(path, p.key)); ok {
			out[p.key] = v
		}
	}
	return out
}
