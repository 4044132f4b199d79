// Package progress shows the progress of server operations as one line that rewrites itself on
// a terminal, and stays silent when the output is not a terminal.
package progress

import (
	"io"
	"sort"
	"strings"
)

// labels names the progress keys lite's and LXD's daemons send.
var labels = map[string]string{
	"download":                          "Retrieving image",
	"build":                             "Building image",
	"unpack":                            "Unpacking image",
	"create_instance_from_image_unpack": "Unpacking image",
	"fs":                                "Transferring",
}

// Text renders the "*_progress" string values of an operation's metadata, ordered by key,
// for example "Building image: debootstrap 45%". It is "" when there are none.
func Text(metadata map[string]any) string {
	var keys []string
	for k, v := range metadata {
		if _, ok := v.(string); ok && strings.HasSuffix(k, "_progress") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, label(strings.TrimSuffix(k, "_progress"))+": "+metadata[k].(string))
	}
	return strings.Join(parts, ", ")
}

func label(key string) string {
	if l, ok := labels[key]; ok {
		return l
	}
	l := strings.ReplaceAll(key, "_", " ")
	return strings.ToUpper(l[:1]) + l[1:]
}

// Line is a progress line on a terminal. The zero value of Width means no limit.
type Line struct {
	w       io.Writer
	enabled bool
	// Width is the terminal width; longer text is cut so the line never wraps.
	Width int
	shown int // cells on screen from the last update
}

// New returns a Line writing to w; when enabled is false (w is not a terminal) it prints
// nothing.
func New(w io.Writer, enabled bool) *Line {
	return &Line{w: w, enabled: enabled}
}

// Update shows the progress in an operation's metadata, if it has any.
func (l *Line) Update(metadata map[string]any) {
	text := Text(metadata)
	if !l.enabled || text == "" {
		return
	}
	r := []rune(text)
	if l.Width > 1 && len(r) > l.Width-1 {
		r = r[:l.Width-1]
	}
	pad := max(l.shown-len(r), 0)
	_, _ = io.WriteString(l.w, "\r"+string(r)+strings.Repeat(" ", pad))
	l.shown = len(r)
}

// Done clears the line, leaving the cursor where it started.
func (l *Line) Done() {
	if !l.enabled || l.shown == 0 {
		return
	}
	_, _ = io.WriteString(l.w, "\r"+strings.Repeat(" ", l.shown)+"\r")
	l.shown = 0
}
