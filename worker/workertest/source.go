package workertest

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"sync"
	"testing"
	"time"

	"eventproc/worker"
)

// SourceHarness gives TestSource fresh queues of one implementation.
type SourceHarness struct {
	// New returns an empty queue. Its visibility timeout should be short (a second or
	// two for a real queue) and its long-poll wait shorter still.
	New func(t *testing.T) SourceFixture
}

// SourceFixture is one empty queue under test.
type SourceFixture struct {
	Source worker.Source
	// Send enqueues a raw message with string message attributes.
	Send func(t *testing.T, body string, attrs map[string]string)
	// VisibilityTimeout is the queue's default visibility timeout.
	VisibilityTimeout time.Duration
	// Sleep lets d of the queue's time pass (advances a fake clock, or sleeps).
	Sleep func(d time.Duration)
	// Drained reports, without receiving, that the queue holds no message, visible or in
	// flight. It may be eventually consistent: the suite retries it for a few seconds.
	Drained func(t *testing.T) bool
}

// TestSource runs the conformance suite of worker.Source.
func TestSource(t *testing.T, h SourceHarness) {
	for _, c := range sourceCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, h)
		})
	}
}

// sourceCases are the cases of TestSource, each run in parallel.
var sourceCases = []struct {
	name string
	run  func(t *testing.T, h SourceHarness)
}{
	{"ReceiveDelivers", sourceReceiveDelivers},
	{"ReceivedIsInvisible", sourceReceivedIsInvisible},
	{"EmptyReceiveReturnsNothing", sourceEmptyReceiveReturnsNothing},
	{"ReceiveHonoursContext", sourceReceiveHonoursContext},
	{"AckDeletes", sourceAckDeletes},
	{"AckEmpty", sourceAckEmpty},
	{"AckReportsBadHandle", sourceAckReportsBadHandle},
	{"VisibilityTimeoutRedelivers", sourceVisibilityTimeoutRedelivers},
	{"SetVisibilityZeroRedeliversAtOnce", sourceSetVisibilityZeroRedeliversAtOnce},
	{"SetVisibilityDelays", sourceSetVisibilityDelays},
	{"SetVisibilityNotInFlightFails", sourceSetVisibilityNotInFlightFails},
	{"ConcurrentReceiversShareNothing", sourceConcurrentReceiversShareNothing},
}

func sourceReceiveDelivers(t *testing.T, h SourceHarness) {
	f := h.New(t)
	start := time.Now()
	want := map[string]map[string]string{}
	for i := range 15 {
		body := fmt.Sprintf(`{"n":%d,"text":"ünïcødé \"quoted\""}`, i)
		attrs := map[string]string{"index": fmt.Sprint(i)}
		if i%2 == 0 {
			attrs = nil
		}
		want[body] = attrs
		f.Send(t, body, attrs)
	}
	got := receiveN(t, f, 15, 10)
	ids := map[string]bool{}
	for _, m := range got {
		wantAttrs, ok := want[m.Body]
		if !ok {
			t.Errorf("unexpected body %q", m.Body)
			continue
		}
		delete(want, m.Body)
		if m.ID == "" || ids[m.ID] {
			t.Errorf("message id %q empty or repeated", m.ID)
		}
		ids[m.ID] = true
		if m.ReceiptHandle == "" {
			t.Errorf("message %s: empty receipt handle", m.ID)
		}
		if m.ReceiveCount != 1 {
			t.Errorf("message %s: ReceiveCount = %d, want 1", m.ID, m.ReceiveCount)
		}
		if !sameAttrs(m.Attributes, wantAttrs) {
			t.Errorf("message %s: attributes = %v, want %v", m.ID, m.Attributes, wantAttrs)
		}
		checkTime(t, "SentAt", m.SentAt, start)
		checkTime(t, "FirstReceived", m.FirstReceived, start)
	}
	if len(want) > 0 {
		t.Errorf("%d messages not received", len(want))
	}
}

func sourceReceivedIsInvisible(t *testing.T, h SourceHarness) {
	f := h.New(t)
	f.Send(t, "one", nil)
	receiveN(t, f, 1, 10)
	if got := receiveFor(t, f, min(300*time.Millisecond, f.VisibilityTimeout/2)); len(got) != 0 {
		t.Errorf("in-flight message received again: %v", bodies(got))
	}
}

func sourceEmptyReceiveReturnsNothing(t *testing.T, h SourceHarness) {
	f := h.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got, err := f.Source.Receive(ctx, 10)
	if err != nil || len(got) != 0 {
		t.Errorf("Receive on an empty queue = %d messages, %v; want none, nil", len(got), err)
	}
}

func sourceReceiveHonoursContext(t *testing.T, h SourceHarness) {
	f := h.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	got, _ := f.Source.Receive(ctx, 10)
	if len(got) != 0 {
		t.Errorf("Receive on an empty queue returned %d messages", len(got))
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Receive returned %v after its context was cancelled", d)
	}
}

func sourceAckDeletes(t *testing.T, h SourceHarness) {
	f := h.New(t)
	const n = 23 // more than two delete batches
	for i := range n {
		f.Send(t, fmt.Sprint("m", i), nil)
	}
	got := receiveN(t, f, n, 10)
	failed, err := f.Source.Ack(context.Background(), got)
	if err != nil || len(failed) != 0 {
		t.Fatalf("Ack = %d failed, %v", len(failed), err)
	}
	waitDrained(t, f)
	f.Sleep(f.VisibilityTimeout + 500*time.Millisecond)
	if again := receiveFor(t, f, 300*time.Millisecond); len(again) != 0 {
		t.Errorf("acked messages delivered again: %v", bodies(again))
	}
}

func sourceAckEmpty(t *testing.T, h SourceHarness) {
	f := h.New(t)
	failed, err := f.Source.Ack(context.Background(), nil)
	if err != nil || len(failed) != 0 {
		t.Errorf("Ack(nil) = %v, %v", failed, err)
	}
	vf, err := f.Source.SetVisibility(context.Background(), nil)
	if err != nil || len(vf) != 0 {
		t.Errorf("SetVisibility(nil) = %v, %v", vf, err)
	}
}

func sourceAckReportsBadHandle(t *testing.T, h SourceHarness) {
	f := h.New(t)
	f.Send(t, "good", nil)
	got := receiveN(t, f, 1, 10)
	bad := got[0]
	bad.ID = "not-a-message"
	bad.ReceiptHandle = "not-a-receipt-handle"
	failed, err := f.Source.Ack(context.Background(), []worker.Message{got[0], bad})
	// A fake cannot tell a garbage handle from a stale one, and SQS accepts stale
	// ones; either way the good message must be gone and nothing else reported.
	for _, m := range failed {
		if m.ID != bad.ID {
			t.Errorf("Ack reported the good message %s as failed", m.ID)
		}
	}
	if len(failed) > 0 && err == nil {
		t.Errorf("Ack returned failed messages and a nil error")
	}
	waitDrained(t, f)
}

func sourceVisibilityTimeoutRedelivers(t *testing.T, h SourceHarness) {
	f := h.New(t)
	f.Send(t, "again", map[string]string{"k": "v"})
	first := receiveN(t, f, 1, 10)[0]
	f.Sleep(f.VisibilityTimeout + 500*time.Millisecond)
	second := receiveN(t, f, 1, 10)[0]
	if second.ID != first.ID || second.Body != first.Body {
		t.Fatalf("redelivered %s %q, want %s %q", second.ID, second.Body, first.ID, first.Body)
	}
	if second.ReceiveCount != 2 {
		t.Errorf("ReceiveCount on redelivery = %d, want 2", second.ReceiveCount)
	}
	if !second.FirstReceived.Equal(first.FirstReceived) {
		t.Errorf("FirstReceived changed on redelivery: %v, then %v", first.FirstReceived, second.FirstReceived)
	}
	if !sameAttrs(second.Attributes, map[string]string{"k": "v"}) {
		t.Errorf("attributes on redelivery = %v", second.Attributes)
	}
	// The latest receipt handle acts on the message.
	if failed, err := f.Source.Ack(context.Background(), []worker.Message{second}); err != nil || len(failed) > 0 {
		t.Fatalf("Ack = %v, %v", failed, err)
	}
	waitDrained(t, f)
}

func sourceSetVisibilityZeroRedeliversAtOnce(t *testing.T, h SourceHarness) {
	f := h.New(t)
	f.Send(t, "a", nil)
	f.Send(t, "b", nil)
	got := receiveN(t, f, 2, 10)
	sort.Slice(got, func(i, j int) bool { return got[i].Body < got[j].Body })
	if failed, err := f.Source.Ack(context.Background(), got[:1]); err != nil || len(failed) > 0 {
		t.Fatalf("Ack = %v, %v", failed, err)
	}
	failed, err := f.Source.SetVisibility(context.Background(), []worker.Visibility{{Message: got[1], Delay: 0}})
	if err != nil || len(failed) > 0 {
		t.Fatalf("SetVisibility = %v, %v", failed, err)
	}
	again := receiveN(t, f, 1, 10)
	if again[0].Body != "b" || again[0].ReceiveCount != 2 {
		t.Errorf("after SetVisibility 0: got %q with ReceiveCount %d, want \"b\" with 2", again[0].Body, again[0].ReceiveCount)
	}
}

func sourceSetVisibilityDelays(t *testing.T, h SourceHarness) {
	f := h.New(t)
	const n = 12 // more than one batch
	for i := range n {
		f.Send(t, fmt.Sprint("d", i), nil)
	}
	got := receiveN(t, f, n, 10)
	delay := f.VisibilityTimeout + 2*time.Second // outlasts the default timeout
	changes := make([]worker.Visibility, len(got))
	for i, m := range got {
		changes[i] = worker.Visibility{Message: m, Delay: delay}
	}
	if failed, err := f.Source.SetVisibility(context.Background(), changes); err != nil || len(failed) > 0 {
		t.Fatalf("SetVisibility = %d failed, %v", len(failed), err)
	}
	f.Sleep(f.VisibilityTimeout + 500*time.Millisecond)
	if early := receiveFor(t, f, 200*time.Millisecond); len(early) != 0 {
		t.Errorf("%d messages visible before their delay passed", len(early))
	}
	f.Sleep(2 * time.Second)
	again := receiveN(t, f, n, 10)
	for _, m := range again {
		if m.ReceiveCount != 2 {
			t.Errorf("message %s: ReceiveCount %d, want 2", m.ID, m.ReceiveCount)
		}
	}
}

func sourceSetVisibilityNotInFlightFails(t *testing.T, h SourceHarness) {
	f := h.New(t)
	f.Send(t, "x", nil)
	got := receiveN(t, f, 1, 10)
	if failed, err := f.Source.Ack(context.Background(), got); err != nil || len(failed) > 0 {
		t.Fatalf("Ack = %v, %v", failed, err)
	}
	waitDrained(t, f)
	failed, err := f.Source.SetVisibility(context.Background(), []worker.Visibility{{Message: got[0], Delay: time.Second}})
	if len(failed) != 1 || err == nil {
		t.Errorf("SetVisibility of a deleted message = %d failed, %v; want 1 failed and an error", len(failed), err)
	}
}

func sourceConcurrentReceiversShareNothing(t *testing.T, h SourceHarness) {
	f := h.New(t)
	const n = 40
	for i := range n {
		f.Send(t, fmt.Sprint("c", i), nil)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	deadline := time.Now().Add(20 * time.Second)
	for range 4 {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				mu.Lock()
				done := len(seen) >= n
				mu.Unlock()
				if done {
					return
				}
				got, err := f.Source.Receive(context.Background(), 10)
				if err != nil {
					t.Errorf("Receive: %v", err)
					return
				}
				mu.Lock()
				for _, m := range got {
					seen[m.Body]++
				}
				mu.Unlock()
				// Acked at once, so that no visibility timeout can pass before the end.
				if failed, err := f.Source.Ack(context.Background(), got); err != nil || len(failed) > 0 {
					t.Errorf("Ack = %d failed, %v", len(failed), err)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("received %d distinct messages, want %d", len(seen), n)
	}
	for b, c := range seen {
		if c != 1 {
			t.Errorf("message %q delivered %d times within its visibility timeout", b, c)
		}
	}
}

// receiveN receives until it has n messages (failing the test after a while), checking
// that no call returns more than max.
func receiveN(t *testing.T, f SourceFixture, n, max int) []worker.Message {
	t.Helper()
	var out []worker.Message
	deadline := time.Now().Add(20 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		got, err := f.Source.Receive(ctx, max)
		cancel()
		if err != nil {
			t.Fatalf("Receive: %v", err)
		}
		if len(got) > max {
			t.Fatalf("Receive(%d) returned %d messages", max, len(got))
		}
		out = append(out, got...)
	}
	if len(out) != n {
		t.Fatalf("received %d messages, want %d: %v", len(out), n, bodies(out))
	}
	return out
}

// receiveFor receives whatever arrives within d.
func receiveFor(t *testing.T, f SourceFixture, d time.Duration) []worker.Message {
	t.Helper()
	var out []worker.Message
	deadline := time.Now().Add(d)
	for {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		got, err := f.Source.Receive(ctx, 10)
		cancel()
		out = append(out, got...)
		if err != nil || !time.Now().Before(deadline) {
			return out
		}
	}
}

func waitDrained(t *testing.T, f SourceFixture) {
	t.Helper()
	if f.Drained == nil {
		return
	}
	deadline := time.Now().Add(10 * time.Second)
	for !f.Drained(t) {
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func checkTime(t *testing.T, what string, got, start time.Time) {
	t.Helper()
	// Queue timestamps have millisecond resolution and come from another clock.
	if got.IsZero() || got.Before(start.Add(-2*time.Second)) || got.After(time.Now().Add(2*time.Second)) {
		t.Errorf("%s = %v, want a time near %v", what, got, start)
	}
}

func sameAttrs(got, want map[string]string) bool {
	return len(got) == len(want) && maps.Equal(got, want)
}

func bodies(ms []worker.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Body
	}
	return out
}
