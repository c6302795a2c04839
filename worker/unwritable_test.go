package worker_test

import (
	"errors"
	"strings"
	"testing"

	"eventproc/limits"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// An item the store refuses for good is dead-lettered at once with outcome
// "unwritable" and acked: no retry delay, no attempts spent.
func TestUnwritableDeadLetteredAtOnce(t *testing.T) {
	r := newRig(t)
	r.table.FailItems(func(it worker.Item) error {
		if it.Key["pk"] == "evt#u-1" {
			return &worker.UnwritableError{Err: errors.New("ValidationException: Item size has exceeded the maximum allowed size")}
		}
		return nil
	})
	id := r.queue.Enqueue(event("u-1", "ok"), nil)
	r.queue.Enqueue(event("u-2", "ok"), nil)
	r.start()
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()
	dl := r.dlq.DeadLetters()
	if len(dl) != 1 || dl[0].Message.ID != id || dl[0].Attrs["outcome"] != "unwritable" || dl[0].Attrs["attempts"] != "1" ||
		!strings.Contains(dl[0].Attrs["error"], "Item size has exceeded") {
		t.Fatalf("dead letters = %+v", dl)
	}
	if n := len(r.queue.VisibilityChanges()); n != 0 {
		t.Errorf("%d visibility changes, want none (no retry)", n)
	}
	if r.table.Len("events") != 1 || r.w.Stats().Outcomes[worker.Unwritable] != 1 {
		t.Errorf("%d stored, %d unwritable; want 1 and 1", r.table.Len("events"), r.w.Stats().Outcomes[worker.Unwritable])
	}
}

// An invalid message of up to SQS's 1 MiB is still stored as a rejected item: its raw
// body is cut to fit DynamoDB's 400 KB item limit, and the item says so.
func TestOversizedInvalidBodyStoredTruncated(t *testing.T) {
	r := newRig(t)
	body := strings.Replace(event("big", "invalid"), `"total":10.5`, `"total":10.5,"pad":"`+strings.Repeat("é", 500<<10)+`"`, 1)
	if len(body) < 1000<<10 {
		t.Fatalf("body of %d bytes, want about 1 MiB", len(body))
	}
	r.queue.Enqueue(body, nil)
	r.start()
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if dl := r.dlq.DeadLetters(); len(dl) != 0 {
		t.Fatalf("dead-lettered: %v", dl[0].Attrs)
	}
	items := r.table.Items("rejected")
	if len(items) != 1 {
		t.Fatalf("%d rejected items, want 1", len(items))
	}
	a := items[0].Attrs
	raw, _ := a["raw_body"].(string)
	if len(raw) > 300<<10 || !strings.HasPrefix(body, raw) || len(raw) < 299<<10 {
		t.Errorf("raw_body of %d bytes, want the body's first 300 KiB", len(raw))
	}
	if !strings.HasSuffix(raw, "é") {
		t.Errorf("raw_body cut inside a UTF-8 sequence: ends %q", raw[len(raw)-4:])
	}
	if a["raw_body_truncated"] != true || a["raw_body_size"] != int64(len(body)) {
		t.Errorf("raw_body_truncated = %v, raw_body_size = %v; want true, %d", a["raw_body_truncated"], a["raw_body_size"], len(body))
	}
	if n := workertest.ItemSize(items[0]); n > limits.ItemBytes {
		t.Errorf("rejected item of %d bytes", n)
	}
}
