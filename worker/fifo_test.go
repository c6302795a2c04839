package worker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// orderSink records, per message group, the event ids of the items it stored, in the
// order their writes succeeded.
type orderSink struct {
	worker.Sink
	mu    sync.Mutex
	order map[string][]string
}

func (s *orderSink) Put(ctx context.Context, items []worker.Item) []error {
	errs := s.Sink.Put(ctx, items)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, it := range items {
		if errs[i] == nil {
			g, _ := it.Attrs["message_group_id"].(string)
			s.order[g] = append(s.order[g], it.Attrs["event_id"].(string))
		}
	}
	return errs
}

func (s *orderSink) writes(group string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.order[group])
}

// fifoRig is a rig on a FIFO fake queue with the real clock (retry delays of a few
// milliseconds), recording the order of writes per group.
func fifoRig(t *testing.T, opts ...rigOption) (*rig, *orderSink) {
	sink := &orderSink{order: map[string][]string{}}
	all := append([]rigOption{func(c *worker.Config, qo *workertest.QueueOptions) {
		qo.FIFO = true
		qo.Clock = nil
		sink.Sink = c.Sink
		c.Sink = sink
	}}, opts...)
	r := newRig(t, all...)
	r.eng.retry = engine.RetryPolicy{MaxAttempts: 5, InitialDelay: 5 * time.Millisecond, Multiplier: 1, MaxDelay: 5 * time.Millisecond}
	return r, sink
}

// failFirst makes the first write of each listed event fail retryably.
func failFirst(table *workertest.Table, ids ...string) {
	var mu sync.Mutex
	pending := map[string]bool{}
	for _, id := range ids {
		pending[id] = true
	}
	table.FailItems(func(it worker.Item) error {
		mu.Lock()
		defer mu.Unlock()
		id, _ := it.Attrs["event_id"].(string)
		if pending[id] {
			delete(pending, id)
			return errThrottled
		}
		return nil
	})
}

func groupEvents(g, n int) []string {
	var ids []string
	for i := range n {
		ids = append(ids, fmt.Sprintf("g%02d-%03d", g, i))
	}
	return ids
}

// TestFIFOGroupsInOrder: 8 groups of 25 messages, with the first write of every 7th
// message failing: each group's items are written in send order, each once, with the
// message's group and sequence number; the messages waiting behind a retried one were
// released, and every message is acked.
func TestFIFOGroupsInOrder(t *testing.T) {
	r, sink := fifoRig(t)
	const groups, per = 8, 25
	var failing []string
	for i := range per {
		for g := range groups {
			id := groupEvents(g, per)[i]
			r.queue.EnqueueGroup(fmt.Sprintf("g%02d", g), event(id, "ok"), nil)
			if (g*per+i)%7 == 3 {
				failing = append(failing, id)
			}
		}
	}
	failFirst(r.table, failing...)
	r.start()
	waitFor(t, "all acked", func() bool { return r.queue.Len() == 0 })
	r.stop()
	for g := range groups {
		if got, want := sink.writes(fmt.Sprintf("g%02d", g)), groupEvents(g, per); !slices.Equal(got, want) {
			t.Errorf("group g%02d written in order %v, want %v", g, got, want)
		}
	}
	prev := map[string]string{}
	for _, it := range r.table.Items("events") {
		g, _ := it.Attrs["message_group_id"].(string)
		seq, _ := it.Attrs["sequence_number"].(string)
		if g == "" || seq == "" {
			t.Fatalf("item %v without its group or sequence number", it.Key)
		}
		prev[g+"/"+it.Attrs["event_id"].(string)] = seq
	}
	for g := range groups {
		ids := groupEvents(g, per)
		for i := 1; i < len(ids); i++ {
			a, b := prev[fmt.Sprintf("g%02d/%s", g, ids[i-1])], prev[fmt.Sprintf("g%02d/%s", g, ids[i])]
			if a >= b {
				t.Errorf("group g%02d: sequence numbers %s then %s", g, a, b)
			}
		}
	}
	st := r.w.Stats()
	if st.Outcomes[worker.Processed] != groups*per || st.Outcomes[worker.Retry] != int64(len(failing)) {
		t.Errorf("outcomes %v, want %d processed and %d retries", st.Outcomes, groups*per, len(failing))
	}
	if st.GroupReleased == 0 {
		t.Error("no message released behind a retried head: the test did not exercise the release")
	}
	if n := len(r.dlq.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}

// TestFIFOHeadRetriedReleasesFollowers: when a group's head is retried, the messages
// received behind it are made visible again at once, after the head's own change, in
// order; none was evaluated before the head was written.
func TestFIFOHeadRetriedReleasesFollowers(t *testing.T) {
	r, sink := fifoRig(t, func(c *worker.Config, qo *workertest.QueueOptions) { c.ReceiveMax = 10 })
	ids := groupEvents(0, 5)
	var msgIDs []string
	for _, id := range ids {
		msgIDs = append(msgIDs, r.queue.EnqueueGroup("g00", event(id, "ok"), nil))
	}
	failFirst(r.table, ids[0])
	r.start()
	waitFor(t, "all acked", func() bool { return r.queue.Len() == 0 })
	r.stop()
	changes := r.queue.VisibilityChanges()
	if len(changes) < 5 {
		t.Fatalf("visibility changes %+v, want the head's retry then 4 releases", changes)
	}
	if changes[0].MessageID != msgIDs[0] || changes[0].Delay <= 0 {
		t.Errorf("first change %+v, want the head's retry delay", changes[0])
	}
	for i, c := range changes[1:5] {
		if c.MessageID != msgIDs[i+1] || c.Delay != 0 || c.ReceiveCount != 1 {
			t.Errorf("change %d = %+v, want %s released at once", i+1, c, msgIDs[i+1])
		}
	}
	if got := sink.writes("g00"); !slices.Equal(got, ids) {
		t.Errorf("written in order %v, want %v", got, ids)
	}
	if n := r.w.Stats().GroupReleased; n != 4 {
		t.Errorf("released behind the head: %d, want 4", n)
	}
	for _, id := range ids[1:] {
		if n := r.eng.evaluations(id); n != 1 {
			t.Errorf("%s evaluated %d times, want 1 (never before its head)", id, n)
		}
	}
}

// TestFIFOOneAtATimePerGroup: while a group's head is being handled, the messages
// behind it wait (they are not evaluated) while another group goes on; once the head
// is acked, the next one starts.
func TestFIFOOneAtATimePerGroup(t *testing.T) {
	r, sink := fifoRig(t)
	r.queue.EnqueueGroup("a", event("a-0", "block"), nil)
	r.queue.EnqueueGroup("a", event("a-1", "ok"), nil)
	r.queue.EnqueueGroup("a", event("a-2", "ok"), nil)
	r.queue.EnqueueGroup("b", event("b-0", "ok"), nil)
	r.queue.EnqueueGroup("b", event("b-1", "ok"), nil)
	r.start()
	waitFor(t, "group b", func() bool { return len(sink.writes("b")) == 2 })
	waitFor(t, "the head of a", func() bool { return r.eng.evaluations("a-0") == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := r.eng.evaluations("a-1") + r.eng.evaluations("a-2"); n != 0 {
		t.Fatalf("%d evaluations behind a head being handled", n)
	}
	close(r.eng.block)
	waitFor(t, "all acked", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if got := sink.writes("a"); !slices.Equal(got, []string{"a-0", "a-1", "a-2"}) {
		t.Errorf("group a written in order %v", got)
	}
	if n := r.w.Stats().GroupReleased; n != 0 {
		t.Errorf("%d released, want 0: nothing failed", n)
	}
}

// TestFIFODrainReleasesFollowers: stopping while a head is being handled and messages
// wait behind it: the head's write is cut at the end of the grace period, and the head
// then its followers are made visible again, in order; nothing stays in flight.
func TestFIFODrainReleasesFollowers(t *testing.T) {
	r, sink := fifoRig(t, func(c *worker.Config, qo *workertest.QueueOptions) { c.GracePeriod = 100 * time.Millisecond })
	var msgIDs []string
	msgIDs = append(msgIDs, r.queue.EnqueueGroup("a", event("a-0", "block"), nil))
	for i := 1; i < 4; i++ {
		msgIDs = append(msgIDs, r.queue.EnqueueGroup("a", event(fmt.Sprintf("a-%d", i), "ok"), nil))
	}
	r.start()
	waitFor(t, "the head", func() bool { return r.eng.evaluations("a-0") == 1 })
	r.stop()
	if got := sink.writes("a"); len(got) != 0 {
		t.Errorf("written %v while stopping behind a head that did not finish", got)
	}
	var got []string
	for _, c := range r.queue.VisibilityChanges() {
		if c.Delay == 0 {
			got = append(got, c.MessageID)
		}
	}
	if !slices.Equal(got, msgIDs) {
		t.Errorf("released %v, want %v (the head, then its group in order)", got, msgIDs)
	}
	st := r.w.Stats()
	if st.Outcomes[worker.Released] != 4 || st.GroupReleased != 3 {
		t.Errorf("released %d (group %d), want 4 (3)", st.Outcomes[worker.Released], st.GroupReleased)
	}
	if n := r.queue.Stats().InFlight; n != 0 {
		t.Errorf("%d messages still in flight after the drain", n)
	}
}

// TestFIFOHeldHeadReleasesFollowers: a deployment error holds the group's head; the
// messages behind it are released, and once the table exists the whole group is
// stored in order, nothing dead-lettered.
func TestFIFOHeldHeadReleasesFollowers(t *testing.T) {
	r, sink := fifoRig(t)
	r.table.Declare("other", "pk") // "events" is missing: a deployment error
	ids := groupEvents(0, 6)
	for _, id := range ids {
		r.queue.EnqueueGroup("g00", event(id, "ok"), nil)
	}
	r.start()
	waitFor(t, "a pause", func() bool { return r.w.Stats().Outcomes[worker.Fatal] > 0 })
	waitFor(t, "the followers released", func() bool { return r.w.Stats().GroupReleased == 5 })
	r.table.Declare("events", "pk")
	waitFor(t, "all acked", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if got := sink.writes("g00"); !slices.Equal(got, ids) {
		t.Errorf("written in order %v, want %v", got, ids)
	}
	if n := len(r.dlq.DeadLetters()); n != 0 {
		t.Errorf("%d dead letters", n)
	}
}

// TestFIFOFailedDeleteReleasesFollowers: the next message of a group starts only once
// its head is deleted. When the delete fails, the head will come back, so the messages
// behind it are released rather than started: the head is written again before them.
func TestFIFOFailedDeleteReleasesFollowers(t *testing.T) {
	r, sink := fifoRig(t, func(c *worker.Config, qo *workertest.QueueOptions) {
		c.ReceiveMax = 10
		c.VisibilityTimeout, qo.VisibilityTimeout = time.Second, time.Second
	})
	ids := groupEvents(0, 3)
	for _, id := range ids {
		r.queue.EnqueueGroup("g00", event(id, "ok"), nil)
	}
	r.queue.FailCalls(workertest.OpAck, errors.New("ReceiptHandleIsInvalid"), 1)
	r.start()
	waitFor(t, "all acked", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if got, want := sink.writes("g00"), []string{ids[0], ids[0], ids[1], ids[2]}; !slices.Equal(got, want) {
		t.Errorf("written in order %v, want %v (the head again, then the rest)", got, want)
	}
	if n := r.w.Stats().GroupReleased; n != 2 {
		t.Errorf("released behind the head: %d, want 2", n)
	}
}
