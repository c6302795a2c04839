package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestOutageHoldsMessages: a table failing every write for far longer than the retry
// budget (30 s + 60 s + 120 s + 240 s) dead-letters nothing. Once the detector sees the
// outage, messages are held without spending attempts, intake pauses, readiness says
// why, probes go out; when the table answers again everything is stored.
func TestOutageHoldsMessages(t *testing.T) {
	wclock := workertest.NewFakeClock(time.Date(2026, 2, 4, 14, 0, 0, 0, time.UTC))
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		c.OutageMinFailures = 5
		c.PutBatch = 4 // several calls: some messages may spend an attempt before the outage is seen
		c.Now = wclock.Now
	})
	r.table.FailCalls(errThrottled, 0)
	const n = 30
	for i := range n {
		r.queue.Enqueue(event(fmt.Sprintf("o-%02d", i), "ok"), nil)
	}
	r.start()
	waitFor(t, "an outage", func() bool { return r.w.Stats().Outcomes[worker.Outage] > 0 })
	if err := r.w.Ready(); err == nil || !strings.Contains(err.Error(), "table events is failing most writes") {
		t.Errorf("Ready = %v, want the outage", err)
	}
	time.Sleep(20 * time.Millisecond) // those caught in the outage settle
	before := r.w.Stats().Outcomes[worker.Outage]
	// An hour of the worker's clock: the detector's window empties, the outage stays.
	for range 60 {
		wclock.Advance(time.Minute)
		time.Sleep(10 * time.Millisecond)
	}
	if after := r.w.Stats().Outcomes[worker.Outage]; after <= before {
		t.Errorf("%d outage outcomes after an hour, %d before: no probe was held again", after, before)
	}
	if err := r.w.Ready(); err == nil {
		t.Error("ready during the outage")
	}
	r.table.ClearFaults()
	waitFor(t, "intake resumed", func() bool { return r.w.Ready() == nil })
	r.clock.Advance(30 * time.Second) // those retried before the outage was seen come back
	waitFor(t, "all stored", func() bool { return r.table.Len("events") == n && r.queue.Len() == 0 })
	r.stop()

	if dl := r.dlq.DeadLetters(); len(dl) != 0 {
		t.Errorf("%d dead letters after a table outage", len(dl))
	}
	st := r.w.Stats()
	if st.Outcomes[worker.Exhausted] != 0 || st.Outcomes[worker.Processed] != n {
		t.Errorf("outcomes %v, want %d processed, none exhausted", st.Outcomes, n)
	}
	for _, it := range r.table.Items("events") {
		if a := it.Attrs["attempts"].(int64); a > 2 {
			t.Errorf("item %v stored on delivery %d: the outage spent attempts", it.Key, a)
		}
	}
	if l := logLines(t, "outage: intake paused, not ready; the affected messages are held without using an attempt"); len(l) == 0 {
		t.Error("no log line for the outage")
	}
}

// TestOwnFailureExhausts: one message whose item alone keeps failing while the others
// are stored is no outage: it spends its attempts (the policy's delays), its item is
// looked up and not found, and it is dead-lettered as exhausted.
func TestOwnFailureExhausts(t *testing.T) {
	r := newRig(t)
	r.table.FailItems(func(it worker.Item) error {
		if it.Key["pk"] == "evt#own" {
			return errThrottled
		}
		return nil
	})
	const n = 30
	for i := range n {
		r.queue.Enqueue(event(fmt.Sprintf("g-%02d", i), "ok"), nil)
	}
	id := r.queue.Enqueue(event("own", "ok"), nil)
	r.start()
	wantDelays := []time.Duration{27 * time.Second, 54 * time.Second, 108 * time.Second, 216 * time.Second}
	for i, d := range wantDelays {
		waitFor(t, fmt.Sprintf("retry %d", i+1), func() bool { return len(r.queue.VisibilityChanges()) > i })
		for j := range 5 { // others go through meanwhile
			r.queue.Enqueue(event(fmt.Sprintf("g-%d-%d", i, j), "ok"), nil)
		}
		r.clock.Advance(d)
	}
	waitFor(t, "dead letter", func() bool { return len(r.dlq.DeadLetters()) == 1 })
	waitFor(t, "all settled", func() bool { return r.queue.Len() == 0 })
	r.stop()

	var delays []time.Duration
	for _, c := range r.queue.VisibilityChanges() {
		if c.MessageID == id {
			delays = append(delays, c.Delay)
		}
	}
	if diff := cmp.Diff(wantDelays, delays); diff != "" {
		t.Errorf("retry delays (-want +got):\n%s", diff)
	}
	d := r.dlq.DeadLetters()[0]
	if d.Message.ID != id || d.Attrs["outcome"] != "exhausted" || d.Attrs["attempts"] != "5" {
		t.Errorf("dead letter %s %v, want %s exhausted after 5 attempts", d.Message.ID, d.Attrs, id)
	}
	st := r.w.Stats()
	if st.Outcomes[worker.Outage] != 0 {
		t.Errorf("%d outage outcomes for one message's own failure", st.Outcomes[worker.Outage])
	}
	if got, want := r.table.Len("events"), n+20; got != want {
		t.Errorf("%d items, want %d", got, want)
	}
	if r.table.Stats().Lookups != 1 {
		t.Errorf("%d look-ups, want 1 (before the dead letter)", r.table.Stats().Lookups)
	}
}

// TestDeadLetterOutageHolds: the dead-letter queue failing every send during a run of
// poison messages: once the outage is seen they are held, not retried; when it answers
// again each is dead-lettered once and acked.
func TestDeadLetterOutageHolds(t *testing.T) {
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) { c.OutageMinFailures = 5 })
	r.dlq.FailCalls(workertest.OpDeadLetter, errThrottled, 0)
	const n = 20
	for i := range n {
		r.queue.Enqueue(event(fmt.Sprintf("p-%02d", i), "rule"), nil)
	}
	r.start()
	waitFor(t, "an outage", func() bool { return r.w.Stats().Outcomes[worker.Outage] > 0 })
	if err := r.w.Ready(); err == nil || !strings.Contains(err.Error(), "dead-letter queue of q is failing most writes") {
		t.Errorf("Ready = %v, want the dead-letter queue's outage", err)
	}
	time.Sleep(300 * time.Millisecond) // probes
	r.dlq.ClearFaults()
	waitFor(t, "intake resumed", func() bool { return r.w.Ready() == nil })
	r.clock.Advance(30 * time.Second) // those retried before the outage was seen come back
	waitFor(t, "all dead-lettered", func() bool { return r.queue.Len() == 0 })
	r.stop()

	seen := map[string]int{}
	for _, d := range r.dlq.DeadLetters() {
		seen[d.Message.ID]++
	}
	if len(seen) != n {
		t.Errorf("%d messages dead-lettered, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("%s dead-lettered %d times", id, k)
		}
	}
	if retried := r.w.Stats().Outcomes[worker.Retry]; retried > 4 {
		t.Errorf("%d retries: more than the 4 failures before the outage was seen", retried)
	}
}

// TestExhaustedLooksUp: before dead-lettering an exhausted message its item is looked
// up: stored with its payload (a write that landed although reported failed), it is
// acked as processed; stored with another payload it is a conflict; not stored, it is dead-lettered as exhausted.
func TestExhaustedLooksUp(t *testing.T) {
	r := newRig(t)
	r.eng.retry.MaxAttempts = 1
	stored, other, missing := event("st-1", "ok"), event("st-2", "ok"), event("st-3", "ok")
	for pk, body := range map[string]string{"evt#st-1": stored, "evt#st-2": "another payload"} {
		errs := r.table.Put(context.Background(), []worker.Item{{Table: "events", Key: map[string]string{"pk": pk},
			Attrs: map[string]any{worker.HashAttribute: engine.PayloadHash(body)}}})
		if errs[0] != nil {
			t.Fatal(errs[0])
		}
	}
	r.table.FailItems(func(worker.Item) error { return errThrottled })
	for _, b := range []string{stored, other, missing} {
		r.queue.Enqueue(b, nil)
	}
	r.start()
	waitFor(t, "all settled", func() bool { return r.queue.Len() == 0 })
	r.stop()

	st := r.w.Stats()
	if st.Outcomes[worker.Processed] != 1 || st.Outcomes[worker.Exhausted] != 1 || st.Outcomes[worker.Conflict] != 1 {
		t.Errorf("outcomes %v, want 1 processed, 1 exhausted, 1 conflict", st.Outcomes)
	}
	got := map[string]map[string]string{}
	for _, d := range r.dlq.DeadLetters() {
		got[d.Attrs["event_id"]] = d.Attrs
	}
	if c := got["st-2"]; len(got) != 2 || c["outcome"] != "conflict" || c["existing_hash"] != engine.PayloadHash("another payload") ||
		c["payload_hash"] != engine.PayloadHash(other) || got["st-3"]["outcome"] != "exhausted" {
		t.Errorf("dead letters %v, want st-2 a conflict with both hashes (its key holds another payload) and st-3 exhausted", got)
	}
	if l := logLines(t, "message"); !hasLine(l, "st-1", "found already stored") {
		t.Error("no log line says st-1 was found already stored")
	}
}

func hasLine(lines []map[string]any, eventID, reason string) bool {
	for _, l := range lines {
		if l["event_id"] == eventID && strings.Contains(fmt.Sprint(l["reason"]), reason) {
			return true
		}
	}
	return false
}
