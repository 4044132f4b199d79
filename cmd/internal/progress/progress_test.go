package progress

import (
	"bytes"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	md := map[string]any{
		"build_progress":    "debootstrap 45%",
		"download_progress": "rootfs: 10% (1.2MB/s)",
		"copy_bytes":        "ignored: not a progress key",
		"weird_progress":    42, // not a string: ignored, as LXD's clients would choke on it
	}
	want := "Building image: debootstrap 45%, Retrieving image: rootfs: 10% (1.2MB/s)"
	if got := Text(md); got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	if got := Text(map[string]any{"apply_templates_progress": "3/4"}); got != "Apply templates: 3/4" {
		t.Errorf("Text(unknown key) = %q", got)
	}
}

func TestLineRewritesAndClears(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, true)
	l.Update(map[string]any{"build_progress": "100%"})
	l.Update(map[string]any{"build_progress": "9%"})
	l.Update(map[string]any{}) // nothing to show: the line stays
	l.Done()
	want := "\rBuilding image: 100%" + "\rBuilding image: 9%  " + "\r" + strings.Repeat(" ", 18) + "\r"
	if b.String() != want {
		t.Errorf("output = %q, want %q", b.String(), want)
	}
}

func TestLineCutsToWidth(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, true)
	l.Width = 10
	l.Update(map[string]any{"build_progress": "100%"})
	if b.String() != "\rBuilding " {
		t.Errorf("output = %q", b.String())
	}
}

func TestLineSilentWithoutTerminal(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, false)
	l.Update(map[string]any{"build_progress": "1%"})
	l.Done()
	if b.Len() != 0 {
		t.Errorf("wrote %q to a non-terminal", b.String())
	}
}
