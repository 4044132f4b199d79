package output

import (
	"bytes"
	"testing"
	"time"
)

func TestRenderTable(t *testing.T) {
	got := RenderTable([]string{"NAME", "IPV4"}, [][]string{{"a", "10.0.0.1 (eth0)\n10.0.0.2 (eth1)"}, {"bb", ""}})
	want := `+------+-----------------+
| NAME |      IPV4       |
+------+-----------------+
| a    | 10.0.0.1 (eth0) |
|      | 10.0.0.2 (eth1) |
+------+-----------------+
| bb   |                 |
+------+-----------------+
`
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	if got := RenderTable([]string{"A"}, nil); got != "+---+\n| A |\n+---+\n" {
		t.Errorf("empty table:\n%s", got)
	}
}

func TestPrintFormats(t *testing.T) {
	type obj struct {
		Name   string            `json:"name"`
		Config map[string]string `json:"config"`
		List   []string          `json:"list"`
		Num    float64           `json:"num"`
		On     bool              `json:"on"`
		When   time.Time         `json:"when"`
	}
	d := Data{
		Header: []string{"NAME", "NOTE"},
		Rows:   [][]string{{"x", `say "hi", twice`}},
		Raw:    []obj{{Name: "x", Config: map[string]string{}, Num: 1.5, On: true, When: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)}},
	}
	cases := map[Format]string{
		CSV:  "x,\"say \"\"hi\"\", twice\"\n",
		JSON: `[{"name":"x","config":{},"list":null,"num":1.5,"on":true,"when":"2024-01-02T00:00:00Z"}]` + "\n",
		YAML: "- name: x\n  config: {}\n  list: null\n  num: 1.5\n  on: true\n  when: \"2024-01-02T00:00:00Z\"\n",
	}
	for f, want := range cases {
		var b bytes.Buffer
		if err := Print(&b, f, d); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%s:\n%q\nwant:\n%q", f, b.String(), want)
		}
	}
}

func TestFormatFlagValue(t *testing.T) {
	var f Format
	if err := f.Set("yaml"); err != nil || f != YAML {
		t.Errorf("Set(yaml) = %v, %q", err, f)
	}
	if err := f.Set("xml"); err == nil {
		t.Error("Set(xml) accepted")
	}
}

func TestUnits(t *testing.T) {
	cases := map[string]string{
		IEC(512): "512B", IEC(1536): "1.50KiB", IEC(40 << 20): "40.00MiB", IEC(3 << 30): "3.00GiB",
		SI(999): "999B", SI(2500): "2.50kB", SI(1_200_000): "1.20MB",
	}
	for got, want := range cases {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if Time(time.Unix(0, 0), time.UTC) != "" || Time(time.Time{}, time.UTC) != "" {
		t.Error("unset times must print empty")
	}
	if got := Time(time.Date(2024, 5, 6, 7, 8, 0, 0, time.UTC), time.UTC); got != "2024/05/06 07:08 UTC" {
		t.Errorf("Time = %q", got)
	}
}
