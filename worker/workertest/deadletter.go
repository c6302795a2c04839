package workertest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"eventproc/worker"
)

// DeadLetterHarness gives TestDeadLetter fresh dead-letter setups of one implementation.
type DeadLetterHarness struct {
	New func(t *testing.T) DeadLetterFixture
}

// DeadLetterFixture is one source queue with an empty dead-letter queue.
type DeadLetterFixture struct {
	DeadLetter worker.DeadLetter
	// Source names a queue (as Source.Name does) whose dead-letter queue Read reads.
	Source string
	// Read returns the next n messages of the dead-letter queue, with their attributes,
	// failing the test if they do not arrive within a few seconds.
	Read func(t *testing.T, n int) []worker.Message
	// UnknownSource names a queue that does not exist ("" to skip that check).
	UnknownSource string
}

// TestDeadLetter runs the conformance suite of worker.DeadLetter.
func TestDeadLetter(t *testing.T, h DeadLetterHarness) {
	for _, c := range deadLetterCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, h)
		})
	}
}

// deadLetterCases are the cases of TestDeadLetter, each run in parallel.
var deadLetterCases = []struct {
	name string
	run  func(t *testing.T, h DeadLetterHarness)
}{
	{"SendKeepsBodyAndAttributes", deadLetterSendKeepsBodyAndAttributes},
	{"UnknownSourceIsFatal", deadLetterUnknownSourceIsFatal},
}

func deadLetterSendKeepsBodyAndAttributes(t *testing.T, h DeadLetterHarness) {
	f := h.New(t)
	msgs := map[string]map[string]string{}
	for i := range 3 {
		body := fmt.Sprintf(`{"event_id":"e-%d","body":{"note":"ünïcødé \"q\"\n"}}`, i)
		attrs := map[string]string{
			"outcome":  "attempts_exhausted",
			"error":    fmt.Sprintf("retryable: put item %d: throttled", i),
			"attempts": "5",
			"empty":    "",
		}
		if i == 2 {
			attrs = nil
		}
		msgs[body] = attrs
		m := worker.Message{ID: fmt.Sprint("src-", i), ReceiptHandle: "rh", Body: body, ReceiveCount: 5,
			Attributes: map[string]string{"original": "dropped"}}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := f.DeadLetter.Send(ctx, f.Source, m, attrs)
		cancel()
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	for _, m := range f.Read(t, len(msgs)) {
		want, ok := msgs[m.Body]
		if !ok {
			t.Errorf("dead-letter queue holds an unexpected body %q", m.Body)
			continue
		}
		delete(msgs, m.Body)
		// SQS cannot store an empty attribute value: an implementation may drop it.
		got := m.Attributes
		if _, ok := got["empty"]; !ok && want != nil {
			want = cloneStrings(want)
			delete(want, "empty")
		}
		if !sameAttrs(got, want) {
			t.Errorf("dead-lettered %q: attributes %v, want %v", m.Body, got, want)
		}
	}
}

func deadLetterUnknownSourceIsFatal(t *testing.T, h DeadLetterHarness) {
	f := h.New(t)
	if f.UnknownSource == "" {
		t.Skip("no unknown source")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := f.DeadLetter.Send(ctx, f.UnknownSource, worker.Message{ID: "x", Body: "x"}, nil)
	if !worker.IsFatal(err) {
		t.Errorf("Send to an unknown source = %v, want a *worker.FatalError", err)
	}
}

func cloneStrings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
