package lab

import (
	"fmt"
	"sort"
	"strings"

	"lite/client/api"
)

// Error is one problem in a lab file, at a place and a key path.
type Error struct {
	File string
	Pos
	// Path is the key path, dotted: nodes.web[1-3].nics.eth1.ipv4.
	Path string
	Msg  string
}

func (e *Error) Error() string {
	where := e.File
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d:%d", e.File, e.Line, e.Col)
	}
	if e.Path == "" {
		return fmt.Sprintf("%s: %s", where, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", where, e.Path, e.Msg)
}

// Errors is every problem found in one lab file, in file order. It wraps api.ErrInvalid.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap makes errors.Is(err, api.ErrInvalid) true.
func (es Errors) Unwrap() error { return api.ErrInvalid }

// errs collects errors while the file is read.
type errs struct {
	file string
	list Errors
}

func (c *errs) add(at Pos, path, format string, args ...any) {
	c.list = append(c.list, &Error{File: c.file, Pos: at, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// result returns nil or the errors sorted by place, so a reader fixes them top to bottom.
func (c *errs) result() error {
	if len(c.list) == 0 {
		return nil
	}
	sort.SliceStable(c.list, func(i, j int) bool {
		a, b := c.list[i], c.list[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return c.list
}
