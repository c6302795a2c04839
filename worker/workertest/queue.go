package workertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"time"

	"eventproc/worker"
)

// Queue is an in-memory SQS queue: a worker.Source, and a worker.DeadLetter that keeps
// what it is sent in a list. Create it with NewQueue; safe for concurrent use.
//
// A received message is invisible until it is acked, its visibility timeout passes, or
// SetVisibility makes it visible again; each delivery gets a fresh receipt handle and
// increments the receive count. Only the latest receipt handle of a message acts on it.
type Queue struct {
	name  string
	clock Clock
	opts  QueueOptions

	faults faults

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change a waiting Receive cares about
	seq      int
	msgs     []*qmsg // in send order; deleted ones removed
	dead     []DeadLettered
	redriven []worker.Message
	changes  []VisibilityChange
	acked    int
	calls    map[Op]int
}

// QueueOptions configures a Queue. The zero value is usable.
type QueueOptions struct {
	// VisibilityTimeout is the queue's default visibility timeout (30 s when zero).
	VisibilityTimeout time.Duration
	// WaitTime is how long Receive waits for a message on an empty queue, in real time
	// (50 ms when zero; negative: do not wait).
	WaitTime time.Duration
	// MaxReceiveCount, when positive, is the queue's redrive policy: a message about to be
	// delivered for the (MaxReceiveCount+1)th time moves to Redriven instead.
	MaxReceiveCount int
	// Clock is the queue's clock (the real one when nil).
	Clock Clock
	// FIFO makes it a FIFO queue, as SQS's: a group's messages are delivered in send
	// order (several per receive when visible), and none of a group while one of it is
	// in flight.
	FIFO bool
	// MessageAttributeNames, when set, is asked at each Receive, as SQS's
	// MessageAttributeNames: a received message carries only the attributes it names
	// (["All"]: every one) and says what was asked (Message.AttributeNames).
	MessageAttributeNames func() []string
}

type qmsg struct {
	msg      worker.Message
	handle   string
	visible  time.Time // visible when now >= visible
	inFlight bool
}

// DeadLettered is one message sent to a fake's dead-letter list.
type DeadLettered struct {
	Source  string
	Message worker.Message // as given, with Attributes replaced by the dead-letter attributes
	Attrs   map[string]string
	At      time.Time
}

// VisibilityChange records one successful SetVisibility entry.
type VisibilityChange struct {
	MessageID    string
	ReceiveCount int
	Delay        time.Duration
	At           time.Time
}

var (
	_ worker.Source     = (*Queue)(nil)
	_ worker.DeadLetter = (*Queue)(nil)
)

// NewQueue returns an empty queue called name.
func NewQueue(name string, opts QueueOptions) *Queue {
	if opts.VisibilityTimeout == 0 {
		opts.VisibilityTimeout = 30 * time.Second
	}
	if opts.WaitTime == 0 {
		opts.WaitTime = 50 * time.Millisecond
	}
	clock := opts.Clock
	if clock == nil {
		clock = realClock{}
	}
	return &Queue{name: name, clock: clock, opts: opts, changed: make(chan struct{}), calls: make(map[Op]int)}
}

// Name returns the queue's name.
func (q *Queue) Name() string { return q.name }

// Enqueue sends a message with the given body and string attributes and returns its id.
func (q *Queue) Enqueue(body string, attrs map[string]string) string {
	return q.EnqueueGroup("", body, attrs)
}

// EnqueueGroup sends a message in a message group (MessageGroupId) and returns its id;
// its SequenceNumber is its place in the queue's send order.
func (q *Queue) EnqueueGroup(group, body string, attrs map[string]string) string {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seq++
	id := fmt.Sprintf("%s-msg-%06d", q.name, q.seq)
	m := worker.Message{ID: id, Body: body, SentAt: q.clock.Now(), Attributes: maps.Clone(attrs), GroupID: group}
	if group != "" {
		m.SequenceNumber = fmt.Sprintf("%020d", q.seq)
	}
	q.msgs = append(q.msgs, &qmsg{msg: m, visible: q.clock.Now()})
	q.signal()
	return id
}

// signal wakes waiting Receive calls. q.mu must be held.
func (q *Queue) signal() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// FailCalls makes the next times calls of op fail with err (times 0: every call until
// ClearFaults). A failed Ack or SetVisibility reports every entry as failed.
func (q *Queue) FailCalls(op Op, err error, times int) { q.faults.failCalls(op, err, times) }

// FailMessage makes every Ack, SetVisibility or dead-letter Send (op) of the message with
// this id fail with err until ClearFaults, while the call's other entries succeed.
func (q *Queue) FailMessage(op Op, id string, err error) { q.faults.failEntry(op, id, err) }

// ClearFaults removes every injected failure.
func (q *Queue) ClearFaults() { q.faults.clear() }

// Receive returns up to max (clamped to 1..10) visible messages, waiting up to the
// queue's WaitTime for one to become visible.
func (q *Queue) Receive(ctx context.Context, n int) ([]worker.Message, error) {
	n = min(max(n, 1), 10)
	q.count(OpReceive)
	if err := q.faults.call(OpReceive); err != nil {
		return nil, err
	}
	got, err := q.receive(ctx, n)
	if q.opts.MessageAttributeNames == nil || err != nil {
		return got, err
	}
	names := q.opts.MessageAttributeNames()
	for i := range got {
		got[i].AttributeNames, got[i].AttributeNamesKnown = names, true
		if !slices.Contains(names, "All") {
			maps.DeleteFunc(got[i].Attributes, func(k, _ string) bool { return !slices.Contains(names, k) })
		}
	}
	return got, nil
}

// receive is Receive without the attribute filter.
func (q *Queue) receive(ctx context.Context, n int) ([]worker.Message, error) {
	var deadline <-chan time.Time
	if q.opts.WaitTime > 0 {
		t := time.NewTimer(q.opts.WaitTime)
		defer t.Stop()
		deadline = t.C
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.mu.Lock()
		got := q.take(n)
		changed := q.changed
		next, ok := q.nextVisible()
		q.mu.Unlock()
		if len(got) > 0 || deadline == nil {
			return got, nil
		}
		// Wake when something changes, when an in-flight message times out (re-checked
		// every few milliseconds: a fake clock moves without telling anyone), or at the end.
		poll := 5 * time.Millisecond
		if _, real := q.clock.(realClock); real && ok {
			poll = max(time.Until(next), time.Millisecond)
		}
		wake := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			wake.Stop()
			return nil, ctx.Err()
		case <-deadline:
			wake.Stop()
			q.mu.Lock()
			got = q.take(n)
			q.mu.Unlock()
			return got, nil
		case <-changed:
		case <-wake.C:
		}
		wake.Stop()
	}
}

// take delivers up to n visible messages. q.mu must be held.
func (q *Queue) take(n int) []worker.Message {
	now := q.clock.Now()
	var out []worker.Message
	keep := q.msgs[:0]
	blocked := map[string]bool{} // FIFO: groups with an earlier message not delivered now
	for _, m := range q.msgs {
		if q.opts.FIFO && blocked[m.msg.GroupID] {
			keep = append(keep, m)
			continue
		}
		if len(out) == n || now.Before(m.visible) {
			blocked[m.msg.GroupID] = true
			keep = append(keep, m)
			continue
		}
		if q.opts.MaxReceiveCount > 0 && m.msg.ReceiveCount >= q.opts.MaxReceiveCount {
			q.redriven = append(q.redriven, cloneMessage(m.msg))
			continue
		}
		m.msg.ReceiveCount++
		if m.msg.FirstReceived.IsZero() {
			m.msg.FirstReceived = now
		}
		q.seq++
		m.handle = m.msg.ID + "#" + strconv.Itoa(q.seq)
		m.msg.ReceiptHandle = m.handle
		m.visible = now.Add(q.opts.VisibilityTimeout)
		m.inFlight = true
		out = append(out, cloneMessage(m.msg))
		keep = append(keep, m)
	}
	clear(q.msgs[len(keep):])
	q.msgs = keep
	return out
}

// nextVisible returns when the next invisible message becomes visible. q.mu must be held.
func (q *Queue) nextVisible() (time.Time, bool) {
	var next time.Time
	for _, m := range q.msgs {
		if next.IsZero() || m.visible.Before(next) {
			next = m.visible
		}
	}
	return next, !next.IsZero()
}

// find returns the message whose current receipt handle is h. q.mu must be held.
func (q *Queue) find(h string) (int, *qmsg) {
	for i, m := range q.msgs {
		if m.handle == h && h != "" {
			return i, m
		}
	}
	return -1, nil
}

// ErrReceiptHandle is the entry error for a receipt handle that is not the latest one of
// a message in flight.
var ErrReceiptHandle = errors.New("receipt handle is invalid or stale")

// Ack deletes the messages whose receipt handles are current. A receipt handle that
// is stale (the message was delivered again) or unknown succeeds without deleting
// anything, as SQS's does.
func (q *Queue) Ack(ctx context.Context, msgs []worker.Message) ([]worker.Message, error) {
	q.count(OpAck)
	if err := q.faults.call(OpAck); err != nil {
		return slices.Clone(msgs), err
	}
	if err := ctx.Err(); err != nil {
		return slices.Clone(msgs), err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	var failed []worker.Message
	var errs []error
	for _, m := range msgs {
		if err := q.faults.entry(OpAck, m.ID); err != nil {
			failed = append(failed, m)
			errs = append(errs, fmt.Errorf("delete %s: %w", m.ID, err))
			continue
		}
		if i, _ := q.find(m.ReceiptHandle); i >= 0 {
			q.msgs = slices.Delete(q.msgs, i, i+1)
			q.acked++
		}
	}
	q.signal()
	return failed, errors.Join(errs...)
}

// SetVisibility makes in-flight messages visible again after their delay. A message
// that is not in flight under that receipt handle fails with ErrReceiptHandle.
func (q *Queue) SetVisibility(ctx context.Context, changes []worker.Visibility) ([]worker.Visibility, error) {
	q.count(OpSetVisibility)
	if err := q.faults.call(OpSetVisibility); err != nil {
		return slices.Clone(changes), err
	}
	if err := ctx.Err(); err != nil {
		return slices.Clone(changes), err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	var failed []worker.Visibility
	var errs []error
	for _, c := range changes {
		err := q.faults.entry(OpSetVisibility, c.Message.ID)
		_, m := q.find(c.Message.ReceiptHandle)
		if err == nil && (m == nil || !m.inFlight || !now.Before(m.visible)) {
			err = ErrReceiptHandle
		}
		if err != nil {
			failed = append(failed, c)
			errs = append(errs, fmt.Errorf("change visibility of %s: %w", c.Message.ID, err))
			continue
		}
		d := min(max(c.Delay, 0), 12*time.Hour)
		m.visible = now.Add(d)
		q.changes = append(q.changes, VisibilityChange{MessageID: m.msg.ID, ReceiveCount: m.msg.ReceiveCount, Delay: d, At: now})
	}
	q.signal()
	return failed, errors.Join(errs...)
}

// Send records msg on the dead-letter list with attrs, whatever its source.
func (q *Queue) Send(ctx context.Context, source string, msg worker.Message, attrs map[string]string) error {
	q.count(OpDeadLetter)
	if err := q.faults.call(OpDeadLetter); err != nil {
		return err
	}
	if err := q.faults.entry(OpDeadLetter, msg.ID); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &worker.RetryableError{Err: err}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	m := cloneMessage(msg)
	m.Attributes = maps.Clone(attrs)
	q.dead = append(q.dead, DeadLettered{Source: source, Message: m, Attrs: maps.Clone(attrs), At: q.clock.Now()})
	return nil
}

func (q *Queue) count(op Op) {
	q.mu.Lock()
	q.calls[op]++
	q.mu.Unlock()
}

// Calls returns how many times op was called.
func (q *Queue) Calls(op Op) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls[op]
}

// DeadLetters returns the messages sent to the dead-letter list, oldest first.
func (q *Queue) DeadLetters() []DeadLettered {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := slices.Clone(q.dead)
	for i := range out {
		out[i].Message = cloneMessage(out[i].Message)
		out[i].Attrs = maps.Clone(out[i].Attrs)
	}
	return out
}

// Redriven returns the messages the queue's own redrive policy moved away.
func (q *Queue) Redriven() []worker.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.redriven)
}

// VisibilityChanges returns every successful SetVisibility entry, oldest first.
func (q *Queue) VisibilityChanges() []VisibilityChange {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.changes)
}

// Stats counts the queue's messages.
type Stats struct {
	Visible  int // can be received now
	InFlight int // received and not yet visible again
	Acked    int // deleted by Ack
}

// Stats returns the queue's current counts.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	s := Stats{Acked: q.acked}
	for _, m := range q.msgs {
		if now.Before(m.visible) {
			s.InFlight++
		} else {
			s.Visible++
		}
	}
	return s
}

// Len returns how many messages the queue holds, visible or in flight.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.msgs)
}

func cloneMessage(m worker.Message) worker.Message {
	m.Attributes = maps.Clone(m.Attributes)
	return m
}
