package worker_test

import (
	"strings"
	"testing"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestConflictDeadLetteredAtOnce: a second event under a stored key, with another
// payload, is dead-lettered at once as a conflict, with the key and both hashes, and
// acked; the stored item is kept unchanged; a redelivery of the stored event itself is
// a silent success.
func TestConflictDeadLetteredAtOnce(t *testing.T) {
	rec := &recorder{}
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) { c.Observer = rec })
	first, second := event("c-1", "ok"), event("c-1", "other")
	r.queue.Enqueue(first, nil)
	r.start()
	waitFor(t, "first stored", func() bool { return r.queue.Len() == 0 && r.table.Len("events") == 1 })
	id := r.queue.Enqueue(second, nil)
	r.queue.Enqueue(first, nil) // a redelivery of the stored event
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()

	dl := r.dlq.DeadLetters()
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1: %+v", len(dl), dl)
	}
	a := dl[0].Attrs
	want := map[string]string{"outcome": "conflict", "attempts": "1", "table": "events", "key": `pk="evt#c-1"`,
		"payload_hash": engine.PayloadHash(second), "existing_hash": engine.PayloadHash(first), "event_id": "c-1"}
	for k, v := range want {
		if a[k] != v {
			t.Errorf("dead letter %s = %q, want %q", k, a[k], v)
		}
	}
	if dl[0].Message.ID != id || !strings.Contains(a["error"], "conflict") {
		t.Errorf("dead letter of %s with error %q, want of %s", dl[0].Message.ID, a["error"], id)
	}
	it, ok := r.table.Get("events", map[string]string{"pk": "evt#c-1"})
	if !ok || it.PayloadHash() != engine.PayloadHash(first) || it.Attrs["body"].(map[string]any)["do"] != "ok" {
		t.Errorf("stored item %+v, want the first event's", it)
	}
	if n := len(r.queue.VisibilityChanges()); n != 0 {
		t.Errorf("%d visibility changes, want none (no retry)", n)
	}
	st := r.w.Stats()
	if st.Outcomes[worker.Conflict] != 1 || st.Outcomes[worker.Processed] != 2 || st.DeadLettered != 1 {
		t.Errorf("outcomes %v, %d dead-lettered; want 1 conflict, 2 processed, 1 dead letter", st.Outcomes, st.DeadLettered)
	}
	got := rec.byOutcome()[worker.Conflict]
	if len(got) != 1 || got[0].DeadLetter != worker.Conflict || got[0].DeadLetterErr != nil {
		t.Errorf("conflict settlements %+v", got)
	}
}

// TestConflictInOneBatch: two events of one key and different payloads that reach the
// sink together are not merged into one write: one is stored, the other conflicts.
func TestConflictInOneBatch(t *testing.T) {
	r := newRig(t)
	a, b := event("c-2", "ok"), event("c-2", "other")
	r.queue.Enqueue(a, nil)
	r.queue.Enqueue(b, nil)
	r.start()
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()
	it, ok := r.table.Get("events", map[string]string{"pk": "evt#c-2"})
	dl := r.dlq.DeadLetters()
	if !ok || len(dl) != 1 || dl[0].Attrs["existing_hash"] != it.PayloadHash() ||
		dl[0].Attrs["payload_hash"] == it.PayloadHash() || r.w.Stats().Outcomes[worker.Conflict] != 1 {
		t.Fatalf("stored %v (%v), dead letters %+v", it.PayloadHash(), ok, dl)
	}
}
