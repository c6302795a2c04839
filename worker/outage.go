package worker

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// An outage is a dependency (a table, a dead-letter queue) failing most of the calls
// made to it, whatever the message: the failures are its, not the messages'. The worker
// counts the results of every item write (Sink.Put) and every dead-letter send, per
// dependency, over a sliding window; once at least OutageMinFailures of them failed
// retryably and they make at least OutageRatio of the results, the dependency is down.
// From then on, a message whose write to it fails retryably is held (outcome Outage, no
// attempt spent) and intake pauses as for a deployment error. The outage lasts until a
// success of the dependency after which its window no longer meets the thresholds: the
// probe's after a pause longer than the window, or enough writes going through (a few
// lucky writes during a partial outage do not end it). A failure while the
// dependency is not down is the message's own: it spends an attempt (Retry, then
// Exhausted), so a message whose own item keeps failing still reaches the dead-letter
// queue.

// OutageError is a dependency failing most calls: the message's failure is not its own.
// It pauses intake (see breaker.go) as a *FatalError does.
type OutageError struct {
	Dependency string        // "table events", "dead-letter queue of <source>"
	Failed     int           // retryable failures in the window when the outage was detected
	Total      int           // results in that window
	Window     time.Duration // the window's length
}

func (e *OutageError) Error() string {
	return fmt.Sprintf("%s is failing most writes: %d of %d in %s", e.Dependency, e.Failed, e.Total, e.Window)
}

// IsOutage reports whether err is, or wraps, an *OutageError.
func IsOutage(err error) bool {
	var o *OutageError
	return errors.As(err, &o)
}

// outageBuckets is how many slices the window is counted in: a result leaves the count
// between window×(1-1/outageBuckets) and window after it was recorded.
const outageBuckets = 10

// outages detects outages of each dependency. Safe for concurrent use.
type outages struct {
	window      time.Duration
	minFailures int
	ratio       float64
	now         func() time.Time

	mu   sync.Mutex
	deps map[string]*depResults
}

// depResults is one dependency's window: a ring of buckets, and the outage detected.
type depResults struct {
	buckets [outageBuckets]resultBucket
	down    *OutageError // nil while up
}

type resultBucket struct {
	slot       int64 // which slice of time it counts (time / bucket length)
	ok, failed int
}

func newOutages(window time.Duration, minFailures int, ratio float64, now func() time.Time) *outages {
	return &outages{window: window, minFailures: minFailures, ratio: ratio, now: now, deps: map[string]*depResults{}}
}

// resultClass says how a call's result counts: ok (the dependency answered: success, an
// item it refuses for good, a key that holds another event), failed (retryable), or not
// at all (a deployment error, which the breaker handles; a panic, which is ours).
func resultClass(err error) (counted, failed bool) {
	var pe *panicError
	var ce *ConflictError
	switch {
	case err == nil, IsUnwritable(err), errors.As(err, &ce):
		return true, false
	case IsFatal(err), errors.As(err, &pe):
		return false, false
	}
	return true, true
}

// record counts one result of dep. A success while dep is down ends its outage when the
// window, with it, no longer meets the thresholds.
func (o *outages) record(dep string, err error) {
	counted, failed := resultClass(err)
	if !counted {
		return
	}
	slot := o.now().UnixNano() / int64(o.bucketLen())
	o.mu.Lock()
	defer o.mu.Unlock()
	d := o.deps[dep]
	if d == nil {
		d = &depResults{}
		o.deps[dep] = d
	}
	b := &d.buckets[slot%outageBuckets]
	if b.slot != slot {
		*b = resultBucket{slot: slot}
	}
	if failed {
		b.failed++
	} else {
		b.ok++
	}
	if failed == (d.down != nil) { // a failure while down, or a success while up: no change
		return
	}
	ok, bad := d.count(slot)
	met := bad >= o.minFailures && float64(bad) >= o.ratio*float64(ok+bad)
	switch {
	case failed && met:
		d.down = &OutageError{Dependency: dep, Failed: bad, Total: ok + bad, Window: o.window}
	case !failed && !met:
		d.down = nil
	}
}

// count sums the buckets of the window that ends in slot.
func (d *depResults) count(slot int64) (ok, failed int) {
	for _, b := range d.buckets {
		if b.slot > slot-outageBuckets && b.slot <= slot {
			ok += b.ok
			failed += b.failed
		}
	}
	return ok, failed
}

func (o *outages) bucketLen() time.Duration {
	return max(o.window/outageBuckets, time.Nanosecond)
}

// clear forgets every outage: intake resumed after a probe got through, so the
// dependencies answer again; one still failing most writes is detected again by its
// next failures. Without it, an outage whose dependency then sees no traffic would be
// remembered for ever.
func (o *outages) clear() {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, d := range o.deps {
		d.down = nil
	}
}

// down returns the outage of dep, nil when it is up.
func (o *outages) down(dep string) *OutageError {
	o.mu.Lock()
	defer o.mu.Unlock()
	if d := o.deps[dep]; d != nil {
		return d.down
	}
	return nil
}

// ownFailure returns the outage that err (a write's or a send's failure) is part of,
// nil when err is no failure of dep's or dep is up: the failure is the message's own.
func (o *outages) ownFailure(dep string, err error) *OutageError {
	if counted, failed := resultClass(err); !counted || !failed {
		return nil
	}
	return o.down(dep)
}

// tableDep and deadLetterDep name the dependencies whose outages are told apart.
func tableDep(table string) string       { return "table " + table }
func deadLetterDep(source string) string { return "dead-letter queue of " + source }
