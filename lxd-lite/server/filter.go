package server

import (
	"fmt"
	"strings"

	"lite/client/api"
)

// filter is LXD's api_filtering subset: "key eq value [and key ne value]...". Keys are
// top-level fields (name, status, type, description, architecture) or config.KEY /
// expanded_config.KEY.
type filter []clause

type clause struct {
	key, op, value string
}

func parseFilter(s string) (filter, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var f filter
	for _, part := range strings.Split(s, " and ") {
		fields := strings.Fields(part)
		if len(fields) != 3 || (fields[1] != "eq" && fields[1] != "ne") {
			return nil, fmt.Errorf("bad filter %q: use \"key eq value\" or \"key ne value\" joined by \"and\": %w", part, api.ErrInvalid)
		}
		f = append(f, clause{fields[0], fields[1], strings.Trim(fields[2], `"'`)})
	}
	return f, nil
}

func (f filter) match(i api.InstanceFull) bool {
	for _, c := range f {
		var got string
		switch {
		case c.key == "name":
			got = i.Name
		case c.key == "status":
			got = i.Status
		case c.key == "type":
			got = i.Type
		case c.key == "description":
			got = i.Description
		case c.key == "architecture":
			got = i.Architecture
		case strings.HasPrefix(c.key, "expanded_config."):
			got = i.ExpandedConfig[strings.TrimPrefix(c.key, "expanded_config.")]
		case strings.HasPrefix(c.key, "config."):
			got = i.Config[strings.TrimPrefix(c.key, "config.")]
		}
		if strings.EqualFold(got, c.value) != (c.op == "eq") {
			return false
		}
	}
	return true
}
