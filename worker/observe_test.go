package worker_test

import (
	"context"
	"sync"
	"testing"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

type recorder struct {
	mu  sync.Mutex
	got []worker.Settlement
}

func (r *recorder) Settled(s worker.Settlement) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *recorder) byOutcome() map[worker.Outcome][]worker.Settlement {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[worker.Outcome][]worker.Settlement{}
	for _, s := range r.got {
		out[s.Outcome] = append(out[s.Outcome], s)
	}
	return out
}

// TestObserverSeesEverySettlement: one call per message, with the verdict, the time
// taken and, for a dead letter, the outcome it was sent under.
func TestObserverSeesEverySettlement(t *testing.T) {
	rec := &recorder{}
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) { c.Observer = rec })
	r.queue.Enqueue(event("e-1", "ok"), nil)
	r.queue.Enqueue(event("e-2", "invalid"), nil)
	r.queue.Enqueue(event("e-3", "rule"), nil)
	r.start()
	waitFor(t, "acks", func() bool { return r.queue.Len() == 0 })
	r.stop()
	got := rec.byOutcome()
	if len(got[worker.Processed]) != 1 || len(got[worker.Rejected]) != 1 || len(got[worker.RuleFailed]) != 1 || len(rec.got) != 3 {
		t.Fatalf("settlements %+v", rec.got)
	}
	if v := got[worker.Rejected][0].Verdict; v == nil || len(v.Violations) != 1 || v.Violations[0].Rule != "body.total.gt" {
		t.Errorf("rejected settlement's verdict %+v", v)
	}
	rf := got[worker.RuleFailed][0]
	if rf.DeadLetter != worker.RuleFailed || rf.DeadLetterErr != nil {
		t.Errorf("rule_failed settlement: dead letter %q, %v", rf.DeadLetter, rf.DeadLetterErr)
	}
	if p := got[worker.Processed][0]; p.DeadLetter != "" || p.Took <= 0 || p.Verdict.EventType != "order.placed" {
		t.Errorf("processed settlement %+v", p)
	}
}

// otherTable is the fake engine with valid events stored in another table.
type otherTable struct{ *fakeEngine }

func (o otherTable) Evaluate(ctx context.Context, body string, opts ...engine.EvalOption) *engine.Verdict {
	v := o.fakeEngine.Evaluate(ctx, body, opts...)
	if v.Persist != nil {
		v.Persist.Table = "events-v2"
	}
	return v
}

// TestSwapEngine: messages started after a Store use the new engine.
func TestSwapEngine(t *testing.T) {
	var sw *worker.SwapEngine
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		sw = worker.NewSwapEngine(c.Engine)
		c.Engine = sw
	})
	r.queue.Enqueue(event("e-1", "ok"), nil)
	r.start()
	waitFor(t, "first ack", func() bool { return r.queue.Len() == 0 })
	sw.Store(otherTable{r.eng})
	r.queue.Enqueue(event("e-2", "ok"), nil)
	waitFor(t, "second ack", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if _, ok := r.table.Get("events", map[string]string{"pk": "evt#e-1"}); !ok {
		t.Errorf("e-1 not in events")
	}
	if _, ok := r.table.Get("events-v2", map[string]string{"pk": "evt#e-2"}); !ok {
		t.Errorf("e-2 not in events-v2: %v", r.table.Items("events"))
	}
}
