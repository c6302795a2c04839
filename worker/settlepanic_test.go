package worker_test

import (
	"fmt"
	"strings"
	"testing"

	"eventproc/worker"
	"eventproc/worker/workertest"
)

// panickyObserver panics when told about a message whose event id starts with "leak".
type panickyObserver struct{}

func (panickyObserver) Settled(s worker.Settlement) {
	if s.Verdict != nil && strings.HasPrefix(s.Verdict.EventID, "leak") {
		panic("observer bug")
	}
}

// A panic while settling a message gives its in-flight slot back: with every slot
// leaked, the worker would never receive again.
func TestSettlePanicReleasesSlot(t *testing.T) {
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		c.MaxInFlight = 10
		c.Observer = panickyObserver{}
	})
	for i := range 10 {
		r.queue.Enqueue(event(fmt.Sprintf("leak-%d", i), "ok"), nil)
	}
	r.start()
	waitFor(t, "the panics", func() bool { return r.w.Stats().Outcomes[worker.Panicked] == 10 })
	for i := range 5 {
		r.queue.Enqueue(event(fmt.Sprintf("after-%d", i), "ok"), nil)
	}
	waitFor(t, "the messages after them", func() bool { return r.queue.Stats().Acked == 5 })
	r.stop()
}
