package instance

// reverter runs undo steps in reverse order unless the change succeeded: every multi-step
// change of the host goes through one, so a failure at any step leaves nothing behind.
type reverter struct {
	steps []func()
	done  bool
}

func (r *reverter) add(f func()) { r.steps = append(r.steps, f) }

// success keeps the changes.
func (r *reverter) success() { r.done = true }

// fail undoes the changes unless success was called; defer it.
func (r *reverter) fail() {
	if r.done {
		return
	}
	for i := len(r.steps) - 1; i >= 0; i-- {
		r.steps[i]()
	}
}
