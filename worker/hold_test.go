package worker_test

import (
	"fmt"
	"testing"
	"time"

	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestFatalHoldsMessages: while only the rejected table is missing, every Put that
// carries a rejected item fails whole (as a BatchWriteItem naming a missing table does),
// so intake flaps. The messages caught in it are held, not redelivered: none reaches
// the queue's redrive policy, none is dead-lettered, and each is stored on its first
// delivery once the table exists.
func TestFatalHoldsMessages(t *testing.T) {
	r := newRig(t, func(c *worker.Config, qo *workertest.QueueOptions) {
		qo.MaxReceiveCount = 3
		c.PutLinger = 20 * time.Millisecond
	})
	r.table.Declare("events", "pk") // "rejected" is missing
	const n = 12
	for i := range n {
		do := "ok"
		if i%4 == 0 {
			do = "invalid"
		}
		r.queue.Enqueue(event(fmt.Sprintf("h-%02d", i), do), nil)
	}
	r.start()
	waitFor(t, "a pause", func() bool { return r.w.Stats().Outcomes[worker.Fatal] > 0 })
	time.Sleep(time.Second) // probes, resumptions and new pauses
	r.table.Declare("rejected", "pk")
	waitFor(t, "all stored", func() bool {
		return r.table.Len("events") == n-3 && r.table.Len("rejected") == 3 && r.queue.Len() == 0
	})
	r.stop()
	if red := r.queue.Redriven(); len(red) != 0 {
		t.Errorf("%d messages moved by the queue's redrive policy during a deployment error", len(red))
	}
	if dl := r.dlq.DeadLetters(); len(dl) != 0 {
		t.Errorf("%d dead letters during a deployment error", len(dl))
	}
	for _, tbl := range []string{"events", "rejected"} {
		for _, it := range r.table.Items(tbl) {
			if it.Attrs["attempts"] != int64(1) {
				t.Errorf("%s item %v stored on delivery %v, want 1: the deployment error spent attempts", tbl, it.Key, it.Attrs["attempts"])
			}
		}
	}
}
