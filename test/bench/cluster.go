package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"lite/test/clusternet"
)

// clusterSystem is the name of lite as a three-member cluster in the table.
const clusterSystem = "lite-cluster3"

// liteCluster is lite as a cluster of three members on this host: each lited in a network
// and mount namespace of its own on a bridge of the bench's (test/clusternet), its own
// LITE_DIR, the members joined over HTTPS as users do it. Every command goes to h1, as a
// user of the cluster would; launches are placed by load, so with 3N instances each member
// runs N.
type liteCluster struct {
	nt      *clusternet.Net
	members []*lite
}

// startLiteCluster makes the namespaces, starts a lited in each, enables the cluster on h1
// and joins the others with tokens, then launches (and deletes) one container on every
// member so each has the image unpacked, as the single host has after prepareImage.
func startLiteCluster(ctx context.Context, cl *cleanups, bin string, n int) (*liteCluster, error) {
	nt, err := clusternet.New(n)
	if err != nil {
		return nil, err
	}
	c := &liteCluster{nt: nt}
	cl.add("remove the cluster's namespaces and bridge", func(context.Context) {
		if err := nt.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "bench: cluster network:", err)
		}
	})
	// One set of network names: each member is in its own netns, and a cluster has one
	// set of networks.
	net, table := "ltb"+suffix()+"c", "lite_bench_"+suffix()+"c"
	// Every dir first, then the stop: cleanups run last-in first-out, and the stop needs the
	// dirs (dnsmasq pid files).
	for _, m := range nt.Members {
		l := &lite{bin: bin, prefix: m.Prefix(), net: net, table: table}
		if l.dir, err = os.MkdirTemp("", "lite-bench-"+m.Name+"-"); err != nil {
			return nil, err
		}
		dir := l.dir
		cl.add("remove "+dir, func(context.Context) { _ = os.RemoveAll(dir) })
		if err := os.Chmod(l.dir, 0o711); err != nil {
			return nil, err
		}
		c.members = append(c.members, l)
	}
	cl.add("stop the cluster's lited", c.stop)
	for i, l := range c.members {
		if err := l.StartDaemon(ctx); err != nil {
			return nil, err
		}
		if err := l.waitAPI(ctx); err != nil {
			return nil, err
		}
		if _, err := l.lite(ctx, "config", "set", "core.https_address", nt.Members[i].HTTPSAddress()); err != nil {
			return nil, err
		}
	}
	h1 := c.members[0]
	if _, err := h1.lite(ctx, "cluster", "enable", nt.Members[0].Name); err != nil {
		return nil, err
	}
	for i, l := range c.members[1:] {
		out, err := h1.lite(ctx, "cluster", "add", nt.Members[i+1].Name)
		if err != nil {
			return nil, err
		}
		if _, err := l.lite(ctx, "cluster", "join", lastLine(out)); err != nil {
			return nil, err
		}
	}
	if err := c.waitOnline(ctx, 60*time.Second); err != nil {
		return nil, err
	}
	fmt.Printf("preparing the image on every member of the cluster\n")
	for _, m := range nt.Members {
		name := "warm-" + m.Name
		if _, err := h1.lite(ctx, "launch", "debian/12", name, "--target", m.Name); err != nil {
			return nil, err
		}
		if _, err := h1.lite(ctx, "delete", "--force", name); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// waitOnline waits until h1 lists every member Online.
func (c *liteCluster) waitOnline(ctx context.Context, limit time.Duration) error {
	var last string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(250 * time.Millisecond) {
		out, err := c.members[0].lite(ctx, "cluster", "list", "--format", "csv")
		last = out
		if err == nil && strings.Count(out, ",Online,") == len(c.members) {
			return nil
		}
	}
	return fmt.Errorf("cluster members not all Online within %s: %s", limit, strings.TrimSpace(last))
}

// stop deletes every instance through h1, then stops every lited at once (one by one, the
// last ones would lose their quorum) and removes their networks' host side.
func (c *liteCluster) stop(ctx context.Context) {
	h1 := c.members[0]
	if h1.daemon != nil && h1.daemon.ProcessState == nil {
		out, _ := h1.lite(ctx, "list", "-c", "n", "--format", "csv")
		for _, name := range strings.Fields(out) {
			_, _ = h1.lite(ctx, "delete", "--force", name)
		}
	}
	var wg sync.WaitGroup
	for _, l := range c.members {
		if l.daemon == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := stopProc(ctx, l.daemon, "lited "+l.dir); err != nil {
				fmt.Fprintln(os.Stderr, "bench:", err)
			}
			l.cleanNet()
		}()
	}
	wg.Wait()
}

func (c *liteCluster) Name() string { return clusterSystem }

func (c *liteCluster) Launch(ctx context.Context, name string) error {
	return c.members[0].Launch(ctx, name)
}

func (c *liteCluster) WaitRunning(ctx context.Context, name string) error {
	return c.members[0].WaitRunning(ctx, name)
}

func (c *liteCluster) HasIPv4(ctx context.Context, name string) (bool, error) {
	return c.members[0].HasIPv4(ctx, name)
}

func (c *liteCluster) Exec(ctx context.Context, name string) error {
	return c.members[0].Exec(ctx, name)
}

func (c *liteCluster) List(ctx context.Context) error { return c.members[0].List(ctx) }

func (c *liteCluster) Stop(ctx context.Context, name string) error {
	return c.members[0].Stop(ctx, name)
}

func (c *liteCluster) Delete(ctx context.Context, name string) error {
	return c.members[0].Delete(ctx, name)
}

// DiskMiB is measured in the LITE_DIR of the member that has name.
func (c *liteCluster) DiskMiB(name string) (float64, error) {
	for _, l := range c.members {
		if _, err := os.Stat(filepath.Join(l.dir, "containers", name)); err == nil {
			return l.DiskMiB(name)
		}
	}
	return 0, fmt.Errorf("%s: on no member", name)
}

// DaemonRSS is h1's lited (the member every command goes to).
func (c *liteCluster) DaemonRSS() (float64, error) { return c.members[0].DaemonRSS() }

func (c *liteCluster) Monitors() []int {
	var pids []int
	for _, l := range c.members {
		pids = append(pids, l.Monitors()...)
	}
	return pids
}

// clusterRows are the rows measured on the cluster: launch and list (with -list running on
// every member), the cost of cluster mode against the single host's rows.
var clusterRows = []string{"launch", "exec", "list"}

// measureCluster measures clusterRows (those selected besides "cluster") on a cluster of
// three, with -list containers per member for the list row.
func (r *run) measureCluster(ctx context.Context, bin string) error {
	c, err := startLiteCluster(ctx, &r.clean, bin, 3)
	if err != nil {
		return err
	}
	sub := *r
	sub.opts.rows = map[string]bool{}
	for _, row := range clusterRows {
		sub.opts.rows[row] = r.opts.rows[row]
	}
	sub.opts.listN = r.opts.listN * len(c.members)
	return sub.measure(ctx, c, sysRows{})
}
