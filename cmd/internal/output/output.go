// Package output is the one printer of the CLI: tables (an ASCII box like lxc's), CSV, JSON and
// YAML, plus the human units used in cells.
package output

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// Format is an output format.
type Format string

// The formats every listing command offers.
const (
	Table Format = "table"
	CSV   Format = "csv"
	JSON  Format = "json"
	YAML  Format = "yaml"
)

var formats = []Format{Table, CSV, JSON, YAML}

// String implements pflag.Value.
func (f *Format) String() string { return string(*f) }

// Set implements pflag.Value; it refuses unknown formats.
func (f *Format) Set(s string) error {
	for _, known := range formats {
		if s == string(known) {
			*f = known
			return nil
		}
	}
	return fmt.Errorf("invalid format %q: use table, csv, json or yaml", s)
}

// Type implements pflag.Value.
func (f *Format) Type() string { return "format" }

// AddFormatFlag adds --format (default table) to cmd, stored in f.
func AddFormatFlag(cmd *cobra.Command, f *Format) {
	*f = Table
	cmd.Flags().Var(f, "format", "output format: table, csv, json or yaml")
}

// Data is what a listing prints: a header and rows of cells for table and csv, and the API
// objects themselves for json and yaml.
type Data struct {
	Header []string
	Rows   [][]string
	Raw    any
}

// Print writes d to w in format f. CSV has no header line, as with lxc.
func Print(w io.Writer, f Format, d Data) error {
	switch f {
	case CSV:
		cw := csv.NewWriter(w)
		if err := cw.WriteAll(d.Rows); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		return nil
	case JSON:
		return PrintJSON(w, d.Raw)
	case YAML:
		return PrintYAML(w, d.Raw)
	}
	_, err := io.WriteString(w, RenderTable(d.Header, d.Rows))
	return err
}

// PrintJSON writes v as one line of JSON, as lxc does.
func PrintJSON(w io.Writer, v any) error {
	buf, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode json: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", buf)
	return err
}

// RenderTable draws an ASCII box with a line between rows, headers centred and cells
// left-aligned; a cell may hold several lines.
func RenderTable(header []string, rows [][]string) string {
	widths := make([]int, len(header))
	measure := func(cells []string) {
		for i, c := range cells {
			for _, line := range strings.Split(c, "\n") {
				widths[i] = max(widths[i], width(line))
			}
		}
	}
	measure(header)
	for _, r := range rows {
		measure(r)
	}

	var b strings.Builder
	rule := func() {
		for _, w := range widths {
			b.WriteString("+" + strings.Repeat("-", w+2))
		}
		b.WriteString("+\n")
	}
	rule()
	for i, h := range header {
		gap := widths[i] - width(h)
		b.WriteString("| " + strings.Repeat(" ", gap/2) + h + strings.Repeat(" ", gap-gap/2) + " ")
	}
	b.WriteString("|\n")
	rule()
	for _, r := range rows {
		lines := make([][]string, len(header))
		height := 1
		for i := range header {
			if i < len(r) {
				lines[i] = strings.Split(r[i], "\n")
			}
			height = max(height, len(lines[i]))
		}
		for l := 0; l < height; l++ {
			for i := range header {
				cell := ""
				if l < len(lines[i]) {
					cell = lines[i][l]
				}
				b.WriteString("| " + cell + strings.Repeat(" ", widths[i]-width(cell)) + " ")
			}
			b.WriteString("|\n")
		}
		rule()
	}
	return b.String()
}

// width is the number of terminal cells of s (runes; no double-width handling).
func width(s string) int { return len([]rune(s)) }
