package instance

import (
	"context"
	"sort"
	"strconv"
	"time"

	"lite/profiles"
)

// Autostart starts the stopped instances whose expanded config has boot.autostart=true, the
// highest boot.autostart.priority first (ties by name), waiting boot.autostart.delay seconds
// after each before the next, as LXD does. Instances without the key stay as they are (lite
// does not restore the last power state). Failures are logged; the others still start.
// boot.stop.priority is stored for a future ordered host shutdown.
func (m *Scheduler) Autostart(ctx context.Context) {
	list, err := m.localInstances(ctx)
	if err != nil {
		m.log.Error("autostart: list instances", "err", err)
		return
	}
	type item struct {
		name     string
		priority int64
		delay    time.Duration
	}
	var todo []item
	for _, inst := range list {
		cfg, _, err := m.expand(ctx, inst)
		if err != nil {
			m.log.Error("autostart: expand config", "instance", inst.Name, "err", err)
			continue
		}
		if !profiles.IsTrue(cfg["boot.autostart"]) {
			continue
		}
		p, _ := strconv.ParseInt(cfg["boot.autostart.priority"], 10, 64)
		d, _ := strconv.Atoi(cfg["boot.autostart.delay"])
		todo = append(todo, item{inst.Name, p, time.Duration(d) * time.Second})
	}
	sort.SliceStable(todo, func(i, j int) bool {
		if todo[i].priority != todo[j].priority {
			return todo[i].priority > todo[j].priority
		}
		return todo[i].name < todo[j].name
	})
	for _, it := range todo {
		st, err := m.rt.State(ctx, it.name)
		if err != nil || st.Running {
			continue
		}
		m.log.Info("autostart", "instance", it.name, "priority", it.priority)
		if err := m.life.Start(ctx, it.name); err != nil {
			m.log.Error("autostart", "instance", it.name, "err", err)
			continue
		}
		if it.delay > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(it.delay):
			}
		}
	}
}
