package image

import (
	"context"
	"strings"
	"testing"
	"time"

	"lite/client/api"
	"lite/cmd/internal/cli"
	"lite/cmd/internal/cli/clitest"
	"lite/cmd/internal/output"
)

func images() []api.Image {
	up := time.Date(2024, 3, 4, 15, 6, 0, 0, time.UTC)
	return []api.Image{
		{Fingerprint: strings.Repeat("f", 64), Architecture: "x86_64", Type: "container", Size: 1 << 20,
			UploadedAt: up, ImagePut: api.ImagePut{Properties: map[string]string{}}},
		{Fingerprint: "0123456789abcdef" + strings.Repeat("0", 48), Architecture: "x86_64", Type: "container",
			Size: 123456789, UploadedAt: up,
			Aliases:  []api.ImageAlias{{Name: "debian/bookworm"}, {Name: "debian/12"}},
			ImagePut: api.ImagePut{Properties: map[string]string{"description": "Debian bookworm amd64"}}},
	}
}

func runList(t *testing.T, f output.Format) string {
	t.Helper()
	ios, stdout, _ := cli.TestIO("")
	fake := &clitest.Client{Images: images()}
	err := RunList(context.Background(), &ListOptions{IO: ios, Client: func() (cli.Client, error) { return fake, nil },
		Format: f, Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return stdout.String()
}

func TestImageListTable(t *testing.T) {
	want := `+--------------------+--------------+-----------------------+--------------+-----------+-----------+-----------------------------+
|       ALIAS        | FINGERPRINT  |      DESCRIPTION      | ARCHITECTURE |   TYPE    |   SIZE    |         UPLOAD DATE         |
+--------------------+--------------+-----------------------+--------------+-----------+-----------+-----------------------------+
| debian/12 (1 more) | 0123456789ab | Debian bookworm amd64 | x86_64       | CONTAINER | 117.74MiB | Mar 4, 2024 at 3:06pm (UTC) |
+--------------------+--------------+-----------------------+--------------+-----------+-----------+-----------------------------+
|                    | ffffffffffff |                       | x86_64       | CONTAINER | 1.00MiB   | Mar 4, 2024 at 3:06pm (UTC) |
+--------------------+--------------+-----------------------+--------------+-----------+-----------+-----------------------------+
`
	if got := runList(t, output.Table); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

func TestImageListJSON(t *testing.T) {
	got := runList(t, output.JSON)
	if !strings.HasPrefix(got, `[{"auto_update":false,"properties":{"description":"Debian bookworm amd64"}`) ||
		!strings.Contains(got, `"fingerprint":"0123456789abcdef`) {
		t.Errorf("json: %s", got)
	}
}
