package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var logs sync.Map // *testing.T → *syncBuffer

// testLogger logs JSON into a buffer that is printed when the test fails.
func testLogger(t *testing.T) *slog.Logger {
	buf := &syncBuffer{}
	logs.Store(t, buf)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// logLines returns the test's log lines whose msg is msg, decoded.
func logLines(t *testing.T, msg string) []map[string]any {
	v, _ := logs.Load(t)
	var out []map[string]any
	for _, line := range strings.Split(v.(*syncBuffer).String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

var errThrottled = &worker.RetryableError{Err: errors.New("ProvisionedThroughputExceededException")}

func TestValidStoredAndAcked(t *testing.T) {
	r := newRig(t)
	id := r.queue.Enqueue(event("e-1", "ok"), nil)
	r.start()
	waitFor(t, "ack", func() bool { return r.queue.Len() == 0 })
	r.stop()

	it, ok := r.table.Get("events", map[string]string{"pk": "evt#e-1"})
	if !ok {
		t.Fatalf("no item; table has %v", r.table.Items("events"))
	}
	want := map[string]any{
		"event_id": "e-1", "event_type": "order.placed", "schema_version": "v1", "tenant_id": "tenant-7",
		"body":   map[string]any{"do": "ok", "total": json.Number("10.5")},
		"status": "processed", "processed_at": r.clock.Now().UTC(), "message_id": id, "attempts": int64(1),
		"tenant": "t-1", "payload_hash": engine.PayloadHash(event("e-1", "ok")),
	}
	if diff := cmp.Diff(want, it.Attrs); diff != "" {
		t.Errorf("item attrs (-want +got):\n%s", diff)
	}
	if n := len(r.dlq.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters, want 0", n)
	}
	if got := r.w.Stats().Outcomes[worker.Processed]; got != 1 {
		t.Errorf("processed = %d, want 1", got)
	}
	lines := logLines(t, "message")
	if len(lines) != 1 || lines[0]["outcome"] != "processed" || lines[0]["event_id"] != "e-1" || lines[0]["message_id"] != id {
		t.Errorf("outcome log lines = %v", lines)
	}
	if strings.Contains(fmt.Sprint(lines), "tenant-7") {
		t.Errorf("the body leaked into the log: %v", lines)
	}
}

func TestInvalidStoredAsRejected(t *testing.T) {
	r := newRig(t)
	r.queue.Enqueue(event("e-2", "invalid"), nil)
	r.queue.Enqueue(`not json`, nil)
	r.start()
	waitFor(t, "acks", func() bool { return r.queue.Len() == 0 })
	r.stop()

	items := r.table.Items("rejected")
	if len(items) != 2 {
		t.Fatalf("%d rejected items, want 2: %v", len(items), items)
	}
	byBody := map[string]map[string]any{}
	for _, it := range items {
		if !strings.HasPrefix(it.Key["pk"], "rejected#") {
			t.Errorf("rejected key %v", it.Key)
		}
		byBody[it.Attrs["raw_body"].(string)] = it.Attrs
	}
	a := byBody[event("e-2", "invalid")]
	if a["status"] != "failed" || a["event_id"] != "e-2" || a["event_type"] != "order.placed" || a["schema_version"] != "v1" ||
		a["reason"] != "body.total.gt: must be > 0" || a["attempts"] != int64(1) {
		t.Errorf("rejected item = %v", a)
	}
	wantViolations := []any{map[string]any{"rule": "body.total.gt", "field": "body.total", "message": "must be > 0"}}
	if diff := cmp.Diff(wantViolations, a["violations"]); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	b := byBody["not json"]
	if b["status"] != "failed" || !strings.Contains(b["reason"].(string), "undecodable") || b["event_id"] != nil {
		t.Errorf("undecodable rejected item = %v", b)
	}
	if n := len(r.dlq.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters, want 0 (invalid is never retried)", n)
	}
	if n := len(r.queue.VisibilityChanges()); n != 0 {
		t.Errorf("%d visibility changes, want 0", n)
	}
}

func TestRuleFailedDeadLettered(t *testing.T) {
	r := newRig(t)
	id := r.queue.Enqueue(event("e-3", "rule"), nil)
	r.start()
	waitFor(t, "ack", func() bool { return r.queue.Len() == 0 })
	r.stop()
	dl := r.dlq.DeadLetters()
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1", len(dl))
	}
	d := dl[0]
	if d.Source != "q" || d.Message.ID != id || d.Message.Body != event("e-3", "rule") {
		t.Errorf("dead letter = %+v", d)
	}
	want := map[string]string{
		"outcome": "rule_failed", "attempts": "1", "event_type": "order.placed", "schema_version": "v1",
		"event_id": "e-3", "rule": "big-orders", "rule_position": "order.yaml:12:9",
		"error":           "rule big-orders (order.yaml:12:9) failed to evaluate: no such key: items",
		"first_failure":   r.clock.Now().UTC().Format(time.RFC3339Nano),
		"last_failure":    r.clock.Now().UTC().Format(time.RFC3339Nano),
		"message_sent_at": r.clock.Now().UTC().Format(time.RFC3339Nano),
	}
	if diff := cmp.Diff(want, d.Attrs); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if n := r.table.Len("events") + r.table.Len("rejected"); n != 0 {
		t.Errorf("%d items stored, want 0", n)
	}
}

// TestRetryThenExhausted: a table that keeps failing retryably gives the policy's
// delays (30 s, 60 s, 120 s, 240 s less 10 % jitter at u = 0.5), then the DLQ with the
// attributes, then an ack.
func TestRetryThenExhausted(t *testing.T) {
	r := newRig(t)
	r.table.FailCalls(errThrottled, 0)
	id := r.queue.Enqueue(event("e-4", "ok"), map[string]string{"tier": "gold"})
	first := r.clock.Now()
	r.start()
	wantDelays := []time.Duration{27 * time.Second, 54 * time.Second, 108 * time.Second, 216 * time.Second}
	for i, d := range wantDelays {
		waitFor(t, fmt.Sprintf("visibility change %d", i+1), func() bool { return len(r.queue.VisibilityChanges()) > i })
		r.clock.Advance(d)
	}
	waitFor(t, "dead letter", func() bool { return len(r.dlq.DeadLetters()) == 1 })
	waitFor(t, "ack", func() bool { return r.queue.Len() == 0 })
	r.stop()

	var got []time.Duration
	for _, c := range r.queue.VisibilityChanges() {
		got = append(got, c.Delay)
	}
	if diff := cmp.Diff(wantDelays, got); diff != "" {
		t.Errorf("retry delays (-want +got):\n%s", diff)
	}
	d := r.dlq.DeadLetters()[0]
	want := map[string]string{
		"outcome": "exhausted", "attempts": "5", "event_type": "order.placed", "schema_version": "v1", "event_id": "e-4",
		"error":           errThrottled.Error(),
		"first_failure":   first.UTC().Format(time.RFC3339Nano),
		"last_failure":    r.clock.Now().UTC().Format(time.RFC3339Nano),
		"message_sent_at": first.UTC().Format(time.RFC3339Nano),
		// the attributes it was received with: redrive gives them back
		"message_attributes": `{"tier":"gold"}`,
	}
	if diff := cmp.Diff(want, d.Attrs); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	if d.Message.ID != id {
		t.Errorf("dead-lettered %s, want %s", d.Message.ID, id)
	}
	var logged []any
	for _, l := range logLines(t, "message") {
		if l["outcome"] == "retry" {
			logged = append(logged, l["delay"])
		}
	}
	if len(logged) != 4 || logged[0] != float64(27*time.Second) {
		t.Errorf("logged retry delays = %v", logged)
	}
}

// A rejected item that cannot be written is retried like any other write.
func TestRejectedWriteRetried(t *testing.T) {
	r := newRig(t)
	r.table.FailItems(func(it worker.Item) error {
		if it.Table == "rejected" {
			return errThrottled
		}
		return nil
	})
	r.queue.Enqueue(event("e-5", "invalid"), nil)
	r.start()
	waitFor(t, "visibility change", func() bool { return len(r.queue.VisibilityChanges()) == 1 })
	if c := r.queue.VisibilityChanges()[0]; c.Delay != 27*time.Second {
		t.Errorf("delay = %v, want 27s", c.Delay)
	}
	r.table.ClearFaults()
	r.clock.Advance(27 * time.Second)
	waitFor(t, "ack", func() bool { return r.queue.Len() == 0 })
	r.stop()
	items := r.table.Items("rejected")
	if len(items) != 1 || items[0].Attrs["attempts"] != int64(2) {
		t.Errorf("rejected items = %v", items)
	}
}

// TestFatalPausesIntake: a missing table pauses intake without using the message's
// attempts (no retry delay, no DLQ), readiness fails, and a probe resumes intake once
// the table exists.
func TestFatalPausesIntake(t *testing.T) {
	r := newRig(t)
	r.table.Declare("rejected", "pk") // "events" is missing
	for i := range 5 {
		r.queue.Enqueue(event(fmt.Sprintf("f-%d", i), "ok"), nil)
	}
	r.start()
	waitFor(t, "not ready", func() bool { return r.w.Ready() != nil && r.w.Stats().Outcomes[worker.Fatal] > 0 })
	if err := r.w.Ready(); !strings.Contains(err.Error(), "paused") {
		t.Errorf("Ready() = %v, want a pause", err)
	}
	time.Sleep(300 * time.Millisecond) // a few failed probes
	for _, c := range r.queue.VisibilityChanges() {
		if c.Delay != 0 {
			t.Errorf("visibility change %+v: a deployment error must not delay the message", c)
		}
	}
	if n := len(r.dlq.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters during a deployment error", n)
	}
	receives := r.queue.Calls(workertest.OpReceive)
	time.Sleep(200 * time.Millisecond)
	if more := r.queue.Calls(workertest.OpReceive) - receives; more > 4 {
		t.Errorf("%d receives in 200 ms while paused, want a few probes at most", more)
	}
	r.table.Declare("events", "pk")
	waitFor(t, "all stored", func() bool { return r.table.Len("events") == 5 && r.queue.Len() == 0 })
	waitFor(t, "ready", func() bool { return r.w.Ready() == nil })
	r.stop()
	if l := logLines(t, "deployment error: intake paused, not ready; the affected messages are held without using an attempt"); len(l) == 0 {
		t.Error("the pause was not logged")
	}
}

func TestPanicRecovered(t *testing.T) {
	r := newRig(t)
	r.queue.Enqueue(event("p-1", "panic"), nil)
	r.queue.Enqueue(event("p-2", "ok"), nil)
	r.start()
	waitFor(t, "acks", func() bool { return r.queue.Len() == 0 })
	r.stop()
	dl := r.dlq.DeadLetters()
	if len(dl) != 1 || dl[0].Attrs["outcome"] != "panic" || dl[0].Attrs["error"] != "panic: boom in a rule" {
		t.Fatalf("dead letters = %+v", dl)
	}
	if r.table.Len("events") != 1 {
		t.Errorf("the worker did not carry on after the panic")
	}
}

// TestDrainReturnsUnstarted: on cancel, started messages finish, unstarted ones are made
// visible at once, acks are flushed, nothing is lost or done twice.
func TestDrainReturnsUnstarted(t *testing.T) {
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		c.Workers = 2
		c.MaxInFlight = 10
	})
	const n = 30
	for i := range n {
		r.queue.Enqueue(event(fmt.Sprintf("d-%02d", i), "block"), nil)
	}
	r.start()
	waitFor(t, "in flight", func() bool { return r.queue.Stats().InFlight == 10 })
	stopped := make(chan struct{})
	go func() {
		r.stop()
		close(stopped)
	}()
	time.Sleep(50 * time.Millisecond)
	select {
	case <-stopped:
		t.Fatal("Run returned before its started messages finished")
	default:
	}
	close(r.eng.block)
	<-stopped

	stored := r.table.Len("events")
	if stored != 2 {
		t.Errorf("%d stored, want the 2 started ones", stored)
	}
	st := r.queue.Stats()
	if st.Acked != stored || st.InFlight != 0 || st.Visible != n-stored {
		t.Errorf("queue after drain = %+v, want %d acked, 0 in flight, %d visible", st, stored, n-stored)
	}
	var released int
	for _, c := range r.queue.VisibilityChanges() {
		if c.Delay != 0 {
			t.Errorf("released with delay %v", c.Delay)
		}
		released++
	}
	if released != 8 {
		t.Errorf("%d released, want 8", released)
	}
	for i := range n {
		if c := r.eng.evaluations(fmt.Sprintf("d-%02d", i)); c > 1 {
			t.Errorf("d-%02d evaluated %d times", i, c)
		}
	}
}

// TestGraceExpires: work that outlasts the grace period is cancelled and its message
// made visible again; Run still returns nil.
func TestGraceExpires(t *testing.T) {
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		c.GracePeriod = 100 * time.Millisecond
		c.Workers = 1
		c.MaxInFlight = 10
	})
	r.queue.Enqueue(event("g-1", "block"), nil)
	r.start()
	waitFor(t, "in flight", func() bool { return r.queue.Stats().InFlight == 1 })
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	r.stop()
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("stop took %v with a 100 ms grace period", took)
	}
	// The engine returned when its context was cancelled: the event was valid, but its
	// write was cancelled too, so the message is released rather than acked.
	st := r.queue.Stats()
	if st.InFlight+st.Visible+st.Acked != 1 {
		t.Errorf("queue = %+v: message lost", st)
	}
}

func TestAckAndPutBatching(t *testing.T) {
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		c.Workers = 32
		c.MaxInFlight = 200
		c.AckLinger = 20 * time.Millisecond
		c.PutLinger = 20 * time.Millisecond
	})
	const n = 400
	for i := range n {
		r.queue.Enqueue(event(fmt.Sprintf("b-%03d", i), "ok"), nil)
	}
	r.start()
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if got := r.table.Len("events"); got != n {
		t.Fatalf("%d items, want %d", got, n)
	}
	acks, puts, receives := r.queue.Calls(workertest.OpAck), r.table.Stats().Calls, r.queue.Calls(workertest.OpReceive)
	t.Logf("%d messages: %d receives, %d ack calls, %d put calls", n, receives, acks, puts)
	if acks > n/10*2 {
		t.Errorf("%d ack calls for %d messages: not batched", acks, n)
	}
	if puts > n/25*3 {
		t.Errorf("%d put calls for %d messages: not batched", puts, n)
	}
}

// Duplicated events (the same body sent twice) are stored once.
func TestDuplicateStoredOnce(t *testing.T) {
	r := newRig(t)
	for range 3 {
		r.queue.Enqueue(event("dup", "ok"), nil)
	}
	r.start()
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if got := r.table.Len("events"); got != 1 {
		t.Errorf("%d items, want 1", got)
	}
}

// TestVisibilityExtended: a message whose work outlasts half the visibility timeout has
// its visibility extended, so it is not delivered twice.
func TestVisibilityExtended(t *testing.T) {
	r := newRig(t, func(c *worker.Config, qo *workertest.QueueOptions) {
		c.VisibilityTimeout = 400 * time.Millisecond
		c.Now = nil
		qo.VisibilityTimeout = 400 * time.Millisecond
		qo.Clock = nil
	})
	r.queue.Enqueue(event("slow", "block"), nil)
	r.start()
	time.Sleep(1300 * time.Millisecond)
	close(r.eng.block)
	waitFor(t, "ack", func() bool { return r.queue.Len() == 0 })
	r.stop()
	changes := r.queue.VisibilityChanges()
	if len(changes) < 3 {
		t.Errorf("%d extensions in 1.3 s with a 400 ms timeout, want ≥ 3", len(changes))
	}
	for _, c := range changes {
		if c.Delay != 400*time.Millisecond || c.ReceiveCount != 1 {
			t.Errorf("change %+v, want +400ms on the first delivery", c)
		}
	}
	if n := r.eng.evaluations("slow"); n != 1 {
		t.Errorf("evaluated %d times, want 1", n)
	}
}

// TestReceiveErrorsBackOff: failing receives are retried with a capped backoff, not in
// a hot loop, and consumption resumes by itself.
func TestReceiveErrorsBackOff(t *testing.T) {
	r := newRig(t)
	r.queue.FailCalls(workertest.OpReceive, &worker.RetryableError{Err: errors.New("connection refused")}, 0)
	r.queue.Enqueue(event("r-1", "ok"), nil)
	r.start()
	time.Sleep(400 * time.Millisecond)
	calls := r.queue.Calls(workertest.OpReceive)
	// 2 pollers, 10 ms doubling to 40 ms (less jitter): about 2 × 12 calls in 400 ms.
	if calls > 40 {
		t.Errorf("%d receive calls in 400 ms: hot loop", calls)
	}
	if calls < 4 {
		t.Errorf("%d receive calls in 400 ms: not retried", calls)
	}
	r.queue.ClearFaults()
	waitFor(t, "resumed", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if r.w.Stats().ReceiveErrors == 0 || len(logLines(t, "receive failed")) == 0 {
		t.Error("receive errors not counted and logged")
	}
}

// A dead-letter queue that refuses a message for now makes it retry later, not vanish.
func TestDeadLetterFailureRetries(t *testing.T) {
	r := newRig(t)
	id := r.queue.Enqueue(event("x-1", "rule"), nil)
	r.dlq.FailCalls(workertest.OpDeadLetter, errThrottled, 1)
	r.start()
	waitFor(t, "visibility change", func() bool { return len(r.queue.VisibilityChanges()) == 1 })
	if c := r.queue.VisibilityChanges()[0]; c.MessageID != id || c.Delay != 27*time.Second {
		t.Errorf("change = %+v", c)
	}
	r.clock.Advance(27 * time.Second)
	waitFor(t, "dead letter", func() bool { return len(r.dlq.DeadLetters()) == 1 && r.queue.Len() == 0 })
	r.stop()
}

// Several sources: each message is acked on the queue it came from and dead-lettered
// with its own source's name.
func TestSeveralSources(t *testing.T) {
	eng := newFakeEngine()
	table := workertest.NewTable(workertest.Upsert)
	qa := workertest.NewQueue("a", workertest.QueueOptions{WaitTime: 10 * time.Millisecond})
	qb := workertest.NewQueue("b", workertest.QueueOptions{WaitTime: 10 * time.Millisecond})
	dlq := workertest.NewQueue("dlq", workertest.QueueOptions{})
	for i := range 20 {
		qa.Enqueue(event(fmt.Sprintf("a-%d", i), "ok"), nil)
		qb.Enqueue(event(fmt.Sprintf("b-%d", i), "ok"), nil)
	}
	qb.Enqueue(event("b-rule", "rule"), nil)
	w, err := worker.New(worker.Config{Engine: eng, Sink: table, DeadLetter: dlq,
		Sources: []worker.SourceConfig{{Source: qa, Pollers: 1}, {Source: qb, Pollers: 3}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, "drained", func() bool { return qa.Len() == 0 && qb.Len() == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if table.Len("events") != 40 {
		t.Errorf("%d items, want 40", table.Len("events"))
	}
	if dl := dlq.DeadLetters(); len(dl) != 1 || dl[0].Source != "b" {
		t.Errorf("dead letters = %+v", dl)
	}
}

func TestNewRejectsMissingDependencies(t *testing.T) {
	_, err := worker.New(worker.Config{})
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"no engine", "no source", "no sink", "no dead-letter queue"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

var _ = context.Background

// A queue that cannot be received from (missing, access denied) fails readiness and is
// retried slowly; readiness returns when it works again.
func TestReceiveFatalFailsReadiness(t *testing.T) {
	r := newRig(t)
	if err := r.w.Ready(); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Errorf("Ready before Run = %v", err)
	}
	r.queue.FailCalls(workertest.OpReceive, &worker.FatalError{Err: errors.New("AWS.SimpleQueueService.NonExistentQueue")}, 1)
	r.start()
	waitFor(t, "not ready for the receive error", func() bool {
		err := r.w.Ready()
		return err != nil && strings.Contains(err.Error(), "NonExistentQueue")
	})
	// The fatal backoff is at least PauseMin (50 ms here), then receives succeed.
	waitFor(t, "ready", func() bool { return r.w.Ready() == nil })
	r.queue.Enqueue(event("rf-1", "ok"), nil)
	waitFor(t, "stored", func() bool { return r.table.Len("events") == 1 })
	r.cancel()
	waitFor(t, "draining", func() bool { err := r.w.Ready(); return err != nil && strings.Contains(err.Error(), "draining") })
	r.stop()
}

// panickyDLQ panics on its first Send, then delegates.
type panickyDLQ struct {
	worker.DeadLetter
	once sync.Once
}

func (p *panickyDLQ) Send(ctx context.Context, source string, msg worker.Message, attrs map[string]string) error {
	p.once.Do(func() { panic("dlq adapter bug") })
	return p.DeadLetter.Send(ctx, source, msg, attrs)
}

// A panic in the dead-letter adapter does not crash the worker: the message is retried.
func TestDeadLetterPanicRetries(t *testing.T) {
	var dlq *panickyDLQ
	r := newRig(t)
	dlq = &panickyDLQ{DeadLetter: r.dlq}
	w, err := worker.New(worker.Config{Engine: r.eng, Sink: r.table, DeadLetter: dlq,
		Sources: []worker.SourceConfig{{Source: r.queue}}, Now: r.clock.Now, Rand: func() float64 { return 0.5 },
		Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	r.queue.Enqueue(event("dp-1", "rule"), nil)
	r.start()
	waitFor(t, "retry", func() bool { return len(r.queue.VisibilityChanges()) == 1 })
	if c := r.queue.VisibilityChanges()[0]; c.Delay != 27*time.Second {
		t.Errorf("change = %+v", c)
	}
	r.clock.Advance(27 * time.Second)
	waitFor(t, "dead letter", func() bool { return len(r.dlq.DeadLetters()) == 1 && r.queue.Len() == 0 })
	r.stop()
}

// TestNoBatchBarrier: a slow message does not hold back the others of its batch.
func TestNoBatchBarrier(t *testing.T) {
	r := newRig(t)
	r.queue.Enqueue(event("slow", "block"), nil)
	for i := range 9 {
		r.queue.Enqueue(event(fmt.Sprintf("fast-%d", i), "ok"), nil)
	}
	r.start()
	waitFor(t, "the fast ones", func() bool { return r.table.Len("events") == 9 && r.queue.Stats().Acked == 9 })
	if st := r.queue.Stats(); st.InFlight != 1 {
		t.Errorf("queue = %+v, want the slow one still in flight", st)
	}
	close(r.eng.block)
	waitFor(t, "the slow one", func() bool { return r.table.Len("events") == 10 && r.queue.Len() == 0 })
	r.stop()
}

// TestInFlightCap: the worker never holds more received messages than MaxInFlight.
func TestInFlightCap(t *testing.T) {
	r := newRig(t, func(c *worker.Config, _ *workertest.QueueOptions) {
		c.Workers = 50
		c.MaxInFlight = 25
	})
	for i := range 100 {
		r.queue.Enqueue(event(fmt.Sprintf("cap-%d", i), "block"), nil)
	}
	r.start()
	waitFor(t, "in flight", func() bool { return r.queue.Stats().InFlight >= 20 })
	time.Sleep(200 * time.Millisecond)
	if st := r.queue.Stats(); st.InFlight > 25 {
		t.Errorf("%d messages in flight, cap 25", st.InFlight)
	}
	close(r.eng.block)
	waitFor(t, "drained", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if n := r.table.Len("events"); n != 100 {
		t.Errorf("%d stored, want 100", n)
	}
}

// TestDrainLetsPollsFinish: a long poll in progress when the worker stops is not cut;
// a message it returns is made visible again at once, not left to its timeout.
func TestDrainLetsPollsFinish(t *testing.T) {
	r := newRig(t, func(c *worker.Config, qo *workertest.QueueOptions) {
		qo.WaitTime = 400 * time.Millisecond
	})
	r.start()
	waitFor(t, "polls", func() bool { return r.queue.Calls(workertest.OpReceive) >= 2 })
	stopped := make(chan struct{})
	go func() {
		r.stop()
		close(stopped)
	}()
	time.Sleep(50 * time.Millisecond)
	id := r.queue.Enqueue(event("late", "ok"), nil) // delivered to a poll in progress
	<-stopped
	st := r.queue.Stats()
	if st.Visible != 1 || st.InFlight != 0 || r.table.Len("events") != 0 {
		t.Errorf("queue after stop = %+v, %d stored; want the message visible, not stored", st, r.table.Len("events"))
	}
	changes := r.queue.VisibilityChanges()
	if len(changes) != 1 || changes[0].MessageID != id || changes[0].Delay != 0 || changes[0].ReceiveCount != 1 {
		t.Errorf("visibility changes = %+v, want %s released once, at once", changes, id)
	}
}
