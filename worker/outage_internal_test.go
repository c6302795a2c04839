package worker

import (
	"errors"
	"testing"
	"time"
)

// TestOutageDetector: a dependency is down once the window holds at least minFailures
// retryable failures making at least ratio of its results; results older than the window
// do not count; deployment errors and panics do not count; the outage lasts, whatever
// the window says, until a success of that dependency after which the window no longer
// shows it.
func TestOutageDetector(t *testing.T) {
	throttled := &RetryableError{Err: errors.New("throttled")}
	now := &testClock{t: time.Date(2026, 2, 4, 14, 0, 0, 0, time.UTC)}
	o := newOutages(10*time.Second, 5, 0.8, now.Now)
	const tbl = "table events"
	fail := func(n int, err error) {
		for range n {
			o.record(tbl, err)
		}
	}

	fail(4, throttled)
	if d := o.down(tbl); d != nil {
		t.Fatalf("down after 4 failures (min 5): %v", d)
	}
	now.Advance(11 * time.Second) // the 4 leave the window
	fail(4, throttled)
	if d := o.down(tbl); d != nil {
		t.Fatalf("down after 4 failures in the window and 4 older: %v", d)
	}
	fail(2, nil)
	fail(1, throttled) // 5 of 7: under 0.8
	if d := o.down(tbl); d != nil {
		t.Fatalf("down at 5 failures of 7 (ratio 0.8): %v", d)
	}
	fail(3, throttled) // 8 of 10
	d := o.down(tbl)
	if d == nil {
		t.Fatal("not down at 8 failures of 10")
	}
	if want := "table events is failing most writes: 8 of 10 in 10s"; d.Error() != want {
		t.Errorf("outage = %q, want %q", d.Error(), want)
	}
	if o.down("table other") != nil || o.down("dead-letter queue of q") != nil {
		t.Error("another dependency is down too")
	}
	fail(10, throttled)
	fail(1, nil) // 18 of 21: a lucky write does not end it
	if o.down(tbl) == nil {
		t.Fatal("outage ended by one success while the window still shows it")
	}

	now.Advance(time.Hour) // the window empties; the outage lasts until a success
	fail(1, &FatalError{Err: errors.New("no such table")})
	fail(1, &panicError{value: "boom"})
	if o.down(tbl) == nil {
		t.Fatal("outage ended without a success")
	}
	if o.ownFailure(tbl, throttled) == nil {
		t.Error("a retryable failure during the outage is counted as the message's own")
	}
	for _, err := range []error{nil, &FatalError{Err: errors.New("x")}, &UnwritableError{Err: errors.New("x")}} {
		if o.ownFailure(tbl, err) != nil {
			t.Errorf("ownFailure(%v) is part of the outage", err)
		}
	}
	fail(1, &UnwritableError{Err: errors.New("too large")}) // the table answered
	if d := o.down(tbl); d != nil {
		t.Fatalf("still down after a success: %v", d)
	}
	fail(4, throttled) // the failures before the hour are gone
	if d := o.down(tbl); d != nil {
		t.Fatalf("down after 4 failures since the recovery: %v", d)
	}
	fail(1, errors.New("unclassified")) // counted as retryable
	if o.down(tbl) == nil {
		t.Fatal("not down after 5 failures since the recovery")
	}
}

// TestOutageDetectorSlidingWindow: results leave the count one bucket (a tenth of the
// window) at a time.
func TestOutageDetectorSlidingWindow(t *testing.T) {
	throttled := &RetryableError{Err: errors.New("throttled")}
	now := &testClock{t: time.Date(2026, 2, 4, 14, 0, 0, 0, time.UTC)}
	o := newOutages(10*time.Second, 10, 0.5, now.Now)
	for range 9 { // t = 0 s … 8 s
		o.record("d", throttled)
		now.Advance(time.Second)
	}
	now.Advance(time.Second) // t = 10 s: the failure at 0 s has left
	o.record("d", throttled)
	if d := o.down("d"); d != nil {
		t.Fatalf("down with 9 failures in the window: %v", d)
	}
	o.record("d", throttled)
	d := o.down("d")
	if d == nil {
		t.Fatal("not down with 10 failures in the window")
	}
	if d.Failed != 10 || d.Total != 10 {
		t.Errorf("outage counts %d of %d, want 10 of 10", d.Failed, d.Total)
	}
}

// testClock is a clock that moves when told to.
type testClock struct{ t time.Time }

func (c *testClock) Now() time.Time          { return c.t }
func (c *testClock) Advance(d time.Duration) { c.t = c.t.Add(d) }

// TestOutageConflictsAndResume: a conflict is an answer of the table, not a failure; an
// outage is forgotten when intake resumes (a probe got through), even if its table sees
// no traffic afterwards.
func TestOutageConflictsAndResume(t *testing.T) {
	throttled := &RetryableError{Err: errors.New("throttled")}
	conflict := &ConflictError{Table: "events", Key: `pk="k"`, Existing: "a", Incoming: "b"}
	now := &testClock{t: time.Date(2026, 2, 4, 14, 0, 0, 0, time.UTC)}
	o := newOutages(10*time.Second, 5, 0.8, now.Now)
	const tbl = "table events"
	for range 50 {
		o.record(tbl, conflict)
	}
	if d := o.down(tbl); d != nil || o.ownFailure(tbl, conflict) != nil {
		t.Fatalf("50 conflicts make an outage: %v", d)
	}
	now.Advance(11 * time.Second) // the conflicts leave the window
	for range 10 {
		o.record(tbl, throttled)
	}
	if o.down(tbl) == nil {
		t.Fatal("no outage after 10 failures of 10 results")
	}
	o.clear()
	now.Advance(time.Hour)
	if d := o.down(tbl); d != nil {
		t.Errorf("an outage remembered after intake resumed: %v", d)
	}
}
