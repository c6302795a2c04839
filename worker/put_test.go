package worker_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"eventproc/worker"
	"eventproc/worker/workertest"
)

// panickySink panics on any Put that holds the item keyed evt#boom.
type panickySink struct{ *workertest.Table }

func (s panickySink) Put(ctx context.Context, items []worker.Item) []error {
	for _, it := range items {
		if it.Key["pk"] == "evt#boom" {
			panic("sink bug")
		}
	}
	return s.Table.Put(ctx, items)
}

// A panic inside Sink.Put dead-letters the message whose item caused it, not the whole
// batch: the batch is put again item by item.
func TestSinkPanicDeadLettersOnlyTheCulprit(t *testing.T) {
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		c.PutLinger = 50 * time.Millisecond
	})
	w, err := worker.New(worker.Config{Engine: r.eng, Sink: panickySink{r.table}, DeadLetter: r.dlq,
		Sources: []worker.SourceConfig{{Source: r.queue}}, Now: r.clock.Now, Rand: func() float64 { return 0.5 },
		PutLinger: 50 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	boom := r.queue.Enqueue(event("boom", "ok"), nil)
	for i := range 8 {
		r.queue.Enqueue(event(fmt.Sprintf("ok-%d", i), "ok"), nil)
	}
	r.start()
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()
	dl := r.dlq.DeadLetters()
	if len(dl) != 1 || dl[0].Message.ID != boom || dl[0].Attrs["outcome"] != "panic" {
		var ids []string
		for _, d := range dl {
			ids = append(ids, d.Message.ID+" "+d.Attrs["outcome"])
		}
		t.Errorf("dead letters = %v, want only %s (panic)", ids, boom)
	}
	if n := r.table.Len("events"); n != 8 {
		t.Errorf("%d items stored, want the 8 beside the culprit", n)
	}
}
