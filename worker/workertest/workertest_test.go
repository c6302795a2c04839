package workertest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"eventproc/worker"
)

var queueSeq atomic.Int64

func fakeSource(clocked bool) SourceHarness {
	return SourceHarness{New: func(t *testing.T) SourceFixture {
		opts := QueueOptions{VisibilityTimeout: time.Second, WaitTime: 20 * time.Millisecond}
		sleep := time.Sleep
		if clocked {
			c := NewFakeClock(time.Now())
			opts.Clock = c
			opts.VisibilityTimeout = 30 * time.Second
			sleep = c.Advance
		}
		q := NewQueue(fmt.Sprint("q", queueSeq.Add(1)), opts)
		return SourceFixture{
			Source:            q,
			Send:              func(t *testing.T, body string, attrs map[string]string) { q.Enqueue(body, attrs) },
			VisibilityTimeout: opts.VisibilityTimeout,
			Sleep:             sleep,
			Drained:           func(t *testing.T) bool { return q.Len() == 0 },
		}
	}}
}

func TestQueueConformsRealClock(t *testing.T) { TestSource(t, fakeSource(false)) }
func TestQueueConformsFakeClock(t *testing.T) { TestSource(t, fakeSource(true)) }

func TestQueueDeadLetterConforms(t *testing.T) {
	TestDeadLetter(t, DeadLetterHarness{New: func(t *testing.T) DeadLetterFixture {
		q := NewQueue("src", QueueOptions{})
		return DeadLetterFixture{
			DeadLetter: q,
			Source:     "src",
			Read: func(t *testing.T, n int) []worker.Message {
				d := q.DeadLetters()
				if len(d) != n {
					t.Fatalf("%d dead letters, want %d", len(d), n)
				}
				out := make([]worker.Message, n)
				for i, x := range d {
					out[i] = x.Message
				}
				return out
			},
		}
	}})
}

func TestTableConforms(t *testing.T) {
	for _, mode := range []TableMode{Upsert, FirstWriteWins} {
		t.Run(fmt.Sprint("mode", mode), func(t *testing.T) {
			TestSink(t, SinkHarness{FirstWriteWins: mode == FirstWriteWins, New: func(t *testing.T, key []string) SinkFixture {
				tb := NewTable(mode)
				tb.Declare("events", key...)
				return SinkFixture{
					Sink:  tb,
					Table: "events",
					Get: func(t *testing.T, key map[string]string) (map[string]any, bool) {
						it, ok := tb.Get("events", key)
						if !ok {
							return nil, false
						}
						m := it.Attrs
						for k, v := range it.Key {
							m[k] = v
						}
						return m, true
					},
					Count:        func(t *testing.T) int { return tb.Len("events") },
					MissingTable: "nope",
				}
			}})
		})
	}
}

func TestQueueRedrive(t *testing.T) {
	c := NewFakeClock(time.Now())
	q := NewQueue("q", QueueOptions{Clock: c, VisibilityTimeout: time.Minute, MaxReceiveCount: 2, WaitTime: -1})
	id := q.Enqueue("body", nil)
	for i := 1; i <= 2; i++ {
		got, _ := q.Receive(context.Background(), 10)
		if len(got) != 1 || got[0].ReceiveCount != i {
			t.Fatalf("delivery %d: %+v", i, got)
		}
		c.Advance(time.Minute)
	}
	if got, _ := q.Receive(context.Background(), 10); len(got) != 0 {
		t.Fatalf("delivered past MaxReceiveCount: %+v", got)
	}
	if r := q.Redriven(); len(r) != 1 || r[0].ID != id {
		t.Errorf("Redriven = %+v", r)
	}
}

func TestQueueFaults(t *testing.T) {
	q := NewQueue("q", QueueOptions{WaitTime: -1})
	boom := &worker.RetryableError{Err: errors.New("boom")}
	q.FailCalls(OpReceive, boom, 1)
	q.Enqueue("a", nil)
	q.Enqueue("b", nil)
	if _, err := q.Receive(context.Background(), 10); !errors.Is(err, boom) {
		t.Fatalf("first Receive: %v, want the injected error", err)
	}
	got, err := q.Receive(context.Background(), 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("second Receive = %d, %v", len(got), err)
	}
	q.FailMessage(OpAck, got[0].ID, boom)
	failed, err := q.Ack(context.Background(), got)
	if len(failed) != 1 || failed[0].ID != got[0].ID || !errors.Is(err, boom) {
		t.Errorf("Ack = %v, %v; want the first message failed", failed, err)
	}
	if q.Len() != 1 || q.Calls(OpAck) != 1 || q.Calls(OpReceive) != 2 {
		t.Errorf("Len %d, ack calls %d, receive calls %d", q.Len(), q.Calls(OpAck), q.Calls(OpReceive))
	}
	q.FailCalls(OpSetVisibility, boom, 0)
	for range 3 {
		if f, err := q.SetVisibility(context.Background(), []worker.Visibility{{Message: got[0]}}); len(f) != 1 || err == nil {
			t.Errorf("SetVisibility = %v, %v; want the injected failure", f, err)
		}
	}
	q.ClearFaults()
	if f, err := q.SetVisibility(context.Background(), []worker.Visibility{{Message: got[0], Delay: 5 * time.Second}}); len(f) != 0 || err != nil {
		t.Errorf("SetVisibility after ClearFaults = %v, %v", f, err)
	}
	if ch := q.VisibilityChanges(); len(ch) != 1 || ch[0].Delay != 5*time.Second || ch[0].ReceiveCount != 1 {
		t.Errorf("VisibilityChanges = %+v", ch)
	}
}

func TestTableFaults(t *testing.T) {
	tb := NewTable(Upsert)
	boom := &worker.RetryableError{Err: errors.New("throttled")}
	tb.FailCalls(boom, 1)
	items := []worker.Item{{Table: "t", Key: map[string]string{"pk": "a"}}, {Table: "t", Key: map[string]string{"pk": "b"}}}
	for _, err := range tb.Put(context.Background(), items) {
		if !errors.Is(err, boom) {
			t.Errorf("injected call failure: %v", err)
		}
	}
	tb.FailItems(func(it worker.Item) error {
		if it.Key["pk"] == "b" {
			return boom
		}
		return nil
	})
	errs := tb.Put(context.Background(), items)
	if errs[0] != nil || !errors.Is(errs[1], boom) {
		t.Errorf("per-item failure: %v", errs)
	}
	if tb.Len("t") != 1 {
		t.Errorf("Len = %d, want 1", tb.Len("t"))
	}
	tb.ClearFaults()
	tb.Put(context.Background(), items)
	if s := tb.Stats(); s.Calls != 3 || s.Writes != 3 || s.Duplicates != 1 {
		t.Errorf("Stats = %+v", s)
	}
	tb.Declare("t", "pk")
	tb.Drop("t")
	if errs := tb.Put(context.Background(), items); !worker.IsFatal(errs[0]) {
		t.Errorf("put to a dropped table: %v, want fatal", errs[0])
	}
}
