package worker_test

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestNoFreezeAtFullCapacity: with a backlog every in-flight slot is taken when the
// table starts failing, and every message in flight is then held (keeping its slot).
// The pollers waiting for a slot must give way to the pause: probes go out (held
// messages are settled again, each a fatal or outage outcome more), and once the table
// answers again intake resumes and every message is stored, none dead-lettered.
func TestNoFreezeAtFullCapacity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		outcome worker.Outcome
		workers int
	}{
		// A worker per slot: the first 25 items go in one Put whose failures pause
		// intake before any is settled, so no retry frees a slot and the freeze is sure.
		{"fatal", &worker.FatalError{Err: errors.New("ResourceNotFoundException")}, worker.Fatal, 40},
		{"outage", errThrottled, worker.Outage, 40}, // the rig's defaults: 20 failures trip the detector
		// The rig's 8 workers: the first failures are retried (an attempt spent) before
		// the outage is seen; the slots they free may or may not outlast the trip.
		{"outage after retries", errThrottled, worker.Outage, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const slots, n = 40, 300
			base := runtime.NumGoroutine()
			r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
				c.MaxInFlight, c.Workers = slots, tc.workers
			})
			r.table.FailCalls(tc.err, 0)
			for i := range n {
				r.queue.Enqueue(event(fmt.Sprintf("f-%03d", i), "ok"), nil)
			}
			r.start()
			waitFor(t, "a pause", func() bool { return r.w.Stats().Outcomes[tc.outcome] > 0 })
			time.Sleep(20 * time.Millisecond) // those in flight settle
			before := r.w.Stats().Outcomes[tc.outcome]
			waitFor(t, "probes held again", func() bool { return r.w.Stats().Outcomes[tc.outcome] >= before+3 })
			if r.w.Ready() == nil {
				t.Error("ready while the table fails")
			}
			r.table.ClearFaults()
			waitFor(t, "intake resumed", func() bool { return r.w.Ready() == nil })
			r.clock.Advance(30 * time.Second) // those retried before the outage was seen come back
			waitFor(t, "all stored", func() bool { return r.table.Len("events") == n && r.queue.Len() == 0 })
			r.stop()
			waitFor(t, "the worker's goroutines to end", func() bool { return runtime.NumGoroutine() <= base })

			if dl := r.dlq.DeadLetters(); len(dl) != 0 {
				t.Errorf("%d dead letters", len(dl))
			}
			if st := r.w.Stats(); st.Outcomes[worker.Processed] != n {
				t.Errorf("outcomes %v, want %d processed", st.Outcomes, n)
			}
		})
	}
}
