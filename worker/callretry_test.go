package worker_test

import (
	"errors"
	"testing"
	"time"

	"eventproc/worker"
	"eventproc/worker/workertest"
)

var errSQSDown = &worker.RetryableError{Err: errors.New("connection reset by peer")}

// A failed ack is sent again a few times: the message is deleted, not left to come back.
func TestAckRetried(t *testing.T) {
	r := newRig(t)
	r.queue.FailCalls(workertest.OpAck, errSQSDown, 2)
	r.queue.Enqueue(event("ar-1", "ok"), nil)
	r.start()
	waitFor(t, "ack", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if n := r.queue.Calls(workertest.OpAck); n != 3 {
		t.Errorf("%d ack calls, want 3 (two failed, one retry succeeded)", n)
	}
	if st := r.w.Stats(); st.AckErrors != 0 {
		t.Errorf("%d ack errors counted, want 0", st.AckErrors)
	}
}

// A failed visibility change is sent again: the retry delay is set, not lost.
func TestVisibilityChangeRetried(t *testing.T) {
	r := newRig(t)
	r.table.FailCalls(errThrottled, 1)
	r.queue.FailCalls(workertest.OpSetVisibility, errSQSDown, 2)
	r.queue.Enqueue(event("vr-1", "ok"), nil)
	r.start()
	waitFor(t, "visibility change", func() bool { return len(r.queue.VisibilityChanges()) == 1 })
	if c := r.queue.VisibilityChanges()[0]; c.Delay != 27*time.Second {
		t.Errorf("change = %+v, want the 27 s retry delay", c)
	}
	r.stop()
	if st := r.w.Stats(); st.VisibilityErrors != 0 {
		t.Errorf("%d visibility errors counted, want 0", st.VisibilityErrors)
	}
}

// Retries are bounded, and an entry that failed for good (not retryably) is not retried.
func TestAckRetriesBounded(t *testing.T) {
	r := newRig(t)
	r.queue.FailCalls(workertest.OpAck, errSQSDown, 0)
	id := r.queue.Enqueue(event("ab-1", "ok"), nil)
	r.start()
	waitFor(t, "the ack to be given up", func() bool { return r.w.Stats().AckErrors == 1 })
	if n := r.queue.Calls(workertest.OpAck); n != 4 {
		t.Errorf("%d ack calls, want 4 (the call and three retries)", n)
	}
	// The count is taken before the log record is written: wait for the record too.
	waitFor(t, "giving up to be logged", func() bool {
		return len(logLines(t, "ack failed: the message will be delivered again (its write is idempotent)")) == 1
	})
	r.queue.ClearFaults()
	r.queue.FailMessage(workertest.OpAck, id, errors.New("ReceiptHandleIsInvalid"))
	r.clock.Advance(time.Minute) // delivered again; its ack fails for good
	waitFor(t, "the second ack to be given up", func() bool { return r.w.Stats().AckErrors == 2 })
	if n := r.queue.Calls(workertest.OpAck); n != 5 {
		t.Errorf("%d ack calls, want 5 (a failure that is not retryable is not retried)", n)
	}
	r.stop()
}
