package worker_test

import (
	"slices"
	"sync/atomic"
	"testing"

	"eventproc/worker"
	"eventproc/worker/workertest"
)

// attrEngine is the fake engine, with rules that read the message attribute "tier"
// once needsTier is set (a reload).
type attrEngine struct {
	*fakeEngine
	needsTier atomic.Bool
}

func (e *attrEngine) AttributesCoveredBy(names []string) bool {
	return !e.needsTier.Load() || slices.Contains(names, "tier") || slices.Contains(names, "All")
}

// TestReloadedRulesReadAnAttributeNotAskedFor: a message received before a reload that
// makes the rules read a message attribute the receive did not ask for is not judged
// without it: it is released (not stored, no attempt counted as a failure), and judged
// once received again with the attribute.
func TestReloadedRulesReadAnAttributeNotAskedFor(t *testing.T) {
	eng := &attrEngine{}
	var asked atomic.Value
	asked.Store([]string(nil))
	r := newRig(t, func(c *worker.Config, qo *workertest.QueueOptions) {
		eng.fakeEngine = c.Engine.(*fakeEngine)
		c.Engine = eng
		qo.MessageAttributeNames = func() []string { return asked.Load().([]string) }
	})
	id := r.queue.Enqueue(event("e-1", "ok"), map[string]string{"tier": "gold"})
	eng.needsTier.Store(true) // reloaded after the receive asked for nothing
	r.start()
	waitFor(t, "released", func() bool { return r.w.Stats().Outcomes[worker.Released] >= 1 })
	asked.Store([]string{"tier"}) // the receives now ask for it
	waitFor(t, "processed", func() bool { return r.w.Stats().Outcomes[worker.Processed] == 1 })
	r.stop()
	if n := r.table.Len("events"); n != 1 {
		t.Errorf("%d items, want 1", n)
	}
	changes := r.queue.VisibilityChanges()
	if len(changes) == 0 || changes[0].MessageID != id || changes[0].Delay != 0 {
		t.Errorf("visibility changes %+v, want %s released at once", changes, id)
	}
	if n := len(r.dlq.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}
