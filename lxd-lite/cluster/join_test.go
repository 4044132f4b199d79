package cluster

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"lite/client/api"
	"lite/client/trust"
	"lite/db"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Two members: a join with a token, both see the same rows; refused joins change nothing;
// the second member is removed.
func TestJoinAndRefusals(t *testing.T) {
	ctx := context.Background()
	h1 := newTestMember(t)
	fill(t, h1.db)
	h1.enable(t, "h1")
	h2 := newTestMember(t)

	// Refusals, each leaving the cluster as it was.
	tok := h1.token(t, "h2")
	if err := h2.join("h3", tok); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("join under another name than the token's: %v, want ErrInvalid", err)
	}
	if _, err := h1.svc.CreateToken(ctx, "h1", time.Minute); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("token for a taken name: %v, want ErrAlreadyExists", err)
	}
	if _, err := h1.svc.CreateToken(ctx, "h2", time.Minute); !errors.Is(err, api.ErrAlreadyExists) {
		t.Errorf("second pending token for h2: %v, want ErrAlreadyExists", err)
	}
	wrong, err := trust.DecodeClusterToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	wrong.Secret = "0000"
	wrongTok, _ := trust.EncodeClusterToken(wrong)
	if err := h2.join("h2", wrongTok); !errors.Is(err, api.ErrForbidden) {
		t.Errorf("wrong secret: %v, want ErrForbidden", err)
	}
	if err := h2.join("h2", "garbage"); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("garbage token: %v, want ErrInvalid", err)
	}
	// The joining server's clock 2 minutes ahead.
	h2.svc.now = func() time.Time { return time.Now().Add(2 * time.Minute) }
	if err := h2.join("h2", tok); !errors.Is(err, api.ErrInvalid) {
		t.Errorf("clock far off: %v, want ErrInvalid", err)
	}
	h2.svc.now = time.Now
	// A server with instances is refused before anything is sent.
	if _, err := h2.db.CreateInstance(ctx, db.Instance{Name: "x", Type: "container", Architecture: "x86_64", Profiles: []string{}, CreatedAt: time.Now(), LastUsedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := h2.join("h2", tok); !errors.Is(err, api.ErrConflict) {
		t.Errorf("server with instances: %v, want ErrConflict", err)
	}
	if err := h2.db.DeleteInstance(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if list, err := h1.svc.Members(ctx); err != nil || len(list) != 1 {
		t.Fatalf("members after refused joins: %v, %v", list, err)
	}
	if h2.svc.Enabled() || h2.db.SQLitePath() == "" {
		t.Fatal("a refused join changed the joining server")
	}

	if err := h2.join("", tok); err != nil {
		t.Fatalf("join: %v", err)
	}
	if h2.svc.LocalName() != "h2" {
		t.Fatalf("joined as %q", h2.svc.LocalName())
	}
	// The token was single use.
	h3 := newTestMember(t)
	if err := h3.join("h2", tok); !errors.Is(err, api.ErrForbidden) {
		t.Errorf("used token: %v, want ErrForbidden", err)
	}
	// Both members see the same state.
	inst, err := h2.db.GetInstance(ctx, "web1")
	if err != nil || inst.Node != "h1" {
		t.Fatalf("h2 reads web1: %+v, %v", inst, err)
	}
	for _, m := range []*testMember{h1, h2} {
		waitFor(t, "two online members", 30*time.Second, func() bool {
			list, err := m.svc.Members(ctx)
			return err == nil && len(list) == 2 && list[0].Status == api.ClusterMemberOnline && list[1].Status == api.ClusterMemberOnline
		})
	}
	if c1, _ := h1.svc.Certificate(); c1 == nil {
		t.Fatal("h1 has no cluster certificate")
	} else if !h2.svc.IsPeer(c1.Certificate[0]) {
		t.Error("h2 does not take h1's cluster certificate for a peer")
	}
	cl, err := h2.svc.Connect(ctx, "h1")
	if err != nil {
		t.Fatalf("h2 connects to h1: %v", err)
	}
	_ = cl

	// Removal: refused with instances (web1, db1 live on h1) and for oneself.
	if err := h2.svc.Remove(ctx, "h2", false); !errors.Is(err, api.ErrConflict) {
		t.Errorf("remove self: %v, want ErrConflict", err)
	}
	if err := h1.svc.Remove(ctx, "h2", false); err != nil {
		t.Fatalf("remove h2: %v", err)
	}
	if list, err := h1.svc.Members(ctx); err != nil || len(list) != 1 || list[0].ServerName != "h1" {
		t.Fatalf("members after removal: %v, %v", list, err)
	}
	if _, err := os.Stat(filepath.Join(h2.dir, "lite.db.before-cluster")); err != nil {
		t.Errorf("joiner's SQLite not set aside: %v", err)
	}
}

// A member with instances is removed only with force, and its instance rows go with it.
func TestRemoveWithInstances(t *testing.T) {
	ctx := context.Background()
	h1 := newTestMember(t)
	h1.enable(t, "h1")
	h2 := newTestMember(t)
	if err := h2.join("h2", h1.token(t, "h2")); err != nil {
		t.Fatal(err)
	}
	if _, err := h1.db.CreateInstance(ctx, db.Instance{Name: "c1", Type: "container", Architecture: "x86_64", Node: "h2", Profiles: []string{}, CreatedAt: time.Now(), LastUsedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := h1.svc.Remove(ctx, "h2", false); !errors.Is(err, api.ErrConflict) {
		t.Fatalf("remove a member with instances: %v, want ErrConflict", err)
	}
	if err := h1.svc.Remove(ctx, "h2", true); err != nil {
		t.Fatalf("forced removal: %v", err)
	}
	if _, err := h1.db.GetInstance(ctx, "c1"); !errors.Is(err, api.ErrNotFound) {
		t.Errorf("instance of the removed member: %v, want ErrNotFound", err)
	}
}

// A cluster directory without member.json (lited killed mid-enable) is removed at start
// and the SQLite database, untouched, is used.
func TestUnfinishedEnableLeavesSQLite(t *testing.T) {
	ctx := context.Background()
	m := newTestMember(t)
	fill(t, m.db)
	before := dump(t, m.db)
	if err := os.MkdirAll(filepath.Join(m.dir, stateDir, dqliteDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(m.dir, stateDir, dqliteDir, "info.yaml"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	restart(t, m)
	if m.svc.Enabled() || m.db.SQLitePath() == "" {
		t.Fatal("an unfinished enable was taken for a membership")
	}
	if _, err := os.Stat(filepath.Join(m.dir, stateDir)); !os.IsNotExist(err) {
		t.Errorf("unfinished state left: %v", err)
	}
	if after := dump(t, m.db); len(after["instances"]) != len(before["instances"]) {
		t.Errorf("instances changed: %v", after["instances"])
	}
	_ = ctx
}
