package instance

import "testing"

// Every job must run over the one core New builds: a job with a core of its own would have a
// lock table of its own, and a snapshot could then run while a start holds the instance.
func TestServicesShareOneCore(t *testing.T) {
	s := New(Config{})
	co := s.Instances.core
	if co == nil || co.locks == nil {
		t.Fatal("the lifecycle has no core or no locks")
	}
	for name, c := range map[string]*core{
		"Snapshots": s.Snapshots.core, "Backups": s.Backups.core, "Profiles": s.Profiles.core,
		"Metadata": s.Metadata.core, "Files": s.Files.core, "Scheduler": s.Scheduler.core,
		"Recovery": s.Recovery.core,
	} {
		if c != co {
			t.Errorf("%s has a core of its own", name)
		}
	}
	if s.Scheduler.snaps != s.Snapshots || s.Scheduler.life != s.Instances {
		t.Error("the scheduler does not drive the same Snapshots and Manager as the server")
	}
}
