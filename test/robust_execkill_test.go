package test

import (
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestKillDuringParallelExecs SIGKILLs lited while execs run in several containers at once.
// Every lite exec must end (its connection to lited is gone) and no fork of lited may stay
// behind: an attach in flight holds copies of every fd lited had when it forked, the other
// attaches' sync sockets among them, so two of them left by a dead lited would wait for each
// other for good and keep the clients' connections open.
func TestKillDuringParallelExecs(t *testing.T) {
	d := startDaemon(t)
	names := []string{"ek-1", "ek-2", "ek-3"}
	for _, n := range names {
		mustLite(t, d, "launch", "debian/12", n)
	}
	for round := 0; round < 20; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		var hung []string
		for i := 0; i < 12; i++ {
			wg.Add(1)
			go func(name string) {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					// A lite that outlives lited by a minute hangs: its daemon is gone.
					_, stderr, code := d.liteTimeout(time.Minute, nil, "exec", name, "--", "true")
					if code == -1 {
						mu.Lock()
						hung = append(hung, name+": "+stderr)
						mu.Unlock()
						return
					}
					if code != 0 {
						return // lited is gone
					}
				}
			}(names[i%len(names)])
		}
		time.Sleep(time.Duration(500+(round%5)*300) * time.Millisecond) // the kill's moment is the input
		d.Kill(t)
		close(stop)
		wg.Wait()
		// A fork the kill left reads EOF from its sync socket and exits: give it a moment.
		forks := litedForks()
		for wait := 0; len(forks) > 0 && wait < 50; wait++ {
			time.Sleep(200 * time.Millisecond)
			forks = litedForks()
		}
		if len(hung) > 0 || len(forks) > 0 {
			out, _ := exec.Command("ps", "-eo", "pid,ppid,stat,wchan:24,args").CombinedOutput()
			killLitedForks(forks)
			t.Fatalf("round %d: after lited was killed, %d lite exec hung and forks of lited stayed: %v\n%s\n%s",
				round, len(hung), forks, strings.Join(hung, "\n"), out)
		}
		if err := d.start(); err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if out := mustLite(t, d, "exec", n, "--", "echo", "ok"); out != "ok\n" {
				t.Fatalf("round %d: exec in %s after the restart: %q", round, n, out)
			}
		}
	}
}
