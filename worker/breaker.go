package worker

import (
	"context"
	"sync"
	"time"

	"eventproc/backoff"
)

// breaker pauses intake after a deployment error (*FatalError) from the table or the
// dead-letter queue. While open, no poller receives. When the pause ends it lets one
// poller receive a single message (the probe); if that message is settled without a
// deployment error intake resumes, otherwise the pause grows as its backoff says.
type breaker struct {
	backoff backoff.Policy // the pause after each trip in a row
	now     func() time.Time

	mu       sync.Mutex
	state    breakerState
	until    time.Time
	pause    time.Duration
	trips    int           // trips since intake last resumed
	probing  bool          // a probe message is out
	changed  chan struct{} // closed on every state change
	lastErr  error
	onChange func(open bool, pause time.Duration, err error)
}

type breakerState int

const (
	closed breakerState = iota
	open
	halfOpen
)

// pauseBackoff is the intake pause after deployment errors in a row: PauseMin,
// doubling per failed probe, capped at PauseMax.
func (c *Config) pauseBackoff() backoff.Policy {
	return backoff.Policy{Initial: c.PauseMin, Multiplier: 2, Max: c.PauseMax}
}

func newBreaker(pause backoff.Policy, now func() time.Time, onChange func(bool, time.Duration, error)) *breaker {
	return &breaker{backoff: pause, now: now, changed: make(chan struct{}), onChange: onChange}
}

func (b *breaker) signalLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// admission is a poller's leave to receive: n messages, or one with probe set. It was
// given in a state that lasts until changed closes: a poller still waiting for
// in-flight slots by then asks again (see acquire in loop.go).
type admission struct {
	n       int
	probe   bool
	changed <-chan struct{}
}

// admit blocks until the poller may receive, and says how many messages it may ask for
// (n when closed, 1 for a probe). ok is false when ctx is done.
func (b *breaker) admit(ctx context.Context, n int) (a admission, ok bool) {
	for {
		b.mu.Lock()
		if b.state == open && !b.now().Before(b.until) {
			b.state = halfOpen
			b.probing = false
		}
		ch := b.changed
		switch {
		case b.state == closed:
			b.mu.Unlock()
			return admission{n: n, changed: ch}, true
		case b.state == halfOpen && !b.probing:
			b.probing = true
			b.mu.Unlock()
			return admission{n: 1, probe: true, changed: ch}, true
		}
		wait := time.Second
		if b.state == open {
			wait = b.until.Sub(b.now())
		}
		b.mu.Unlock()
		t := time.NewTimer(max(wait, time.Millisecond))
		select {
		case <-ctx.Done():
			t.Stop()
			return admission{}, false
		case <-ch:
		case <-t.C:
		}
		t.Stop()
	}
}

// probeEmpty says the probe's receive returned nothing: another poller may probe.
func (b *breaker) probeEmpty() {
	b.mu.Lock()
	if b.state == halfOpen {
		b.probing = false
		b.signalLocked()
	}
	b.mu.Unlock()
}

// trip opens the breaker after a deployment error.
func (b *breaker) trip(err error) {
	b.mu.Lock()
	switch b.state {
	case closed:
		b.trips = 1
	case halfOpen:
		b.trips++
	case open:
		b.lastErr = err
		b.mu.Unlock()
		return
	}
	b.pause = b.backoff.Delay(b.trips, 0)
	b.state = open
	b.until = b.now().Add(b.pause)
	b.lastErr = err
	pause := b.pause
	b.signalLocked()
	b.mu.Unlock()
	if b.onChange != nil {
		b.onChange(true, pause, err)
	}
}

// settled reports a message settled without a deployment error; stored says whether it
// reached the table or the dead-letter queue (proof that the deployment works again).
func (b *breaker) settled(stored bool) {
	b.mu.Lock()
	if b.state != halfOpen {
		b.mu.Unlock()
		return
	}
	if !stored {
		b.probing = false
		b.signalLocked()
		b.mu.Unlock()
		return
	}
	b.state = closed
	b.probing = false
	b.lastErr = nil
	b.signalLocked()
	b.mu.Unlock()
	if b.onChange != nil {
		b.onChange(false, 0, nil)
	}
}

// isOpen reports whether intake is paused (open or probing).
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != closed
}

// paused reports whether messages must not be started now (open, not probing).
func (b *breaker) paused() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state == open
}

// err is the deployment error that opened the breaker, nil when closed.
func (b *breaker) err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == closed {
		return nil
	}
	return b.lastErr
}
