package worker

import (
	"log/slog"
	"sync"

	"golang.org/x/sync/semaphore"
)

// On a FIFO source, the messages of one group are evaluated, written and settled one
// at a time, in the order the queue delivered them, while different groups run in
// parallel. The pollers keep, per group, the messages received but not started; only
// the group's head goes to the workers. When the head is acked (processed, rejected,
// dead-lettered) the next one goes once the delete has succeeded; when the delete fails,
// or the head is made visible again (a retry, a release while stopping), or it is held
// through a deployment error, every message of its group
// waiting behind it is made visible again at once, in order: SQS keeps the group
// blocked while the head is in flight, and delivers the group again from the head on.
// A waiting message keeps its in-flight slot and is tracked, so its visibility is
// extended while it waits. Standard sources skip all of this.

// groups is the per-group order of one FIFO source. Safe for concurrent use.
type groups struct {
	mu sync.Mutex
	m  map[string]*group
}

// group is one message group with a message being handled.
type group struct {
	head    *job   // handed to the workers; settled last in the group so far
	waiting []*job // received after it, not started, in receive order
}

func newGroups() *groups { return &groups{m: map[string]*group{}} }

// admit takes a batch of received messages into their groups, under one lock, and
// returns those that are their group's head (to hand to the workers), in order; the
// others wait behind their head.
func (g *groups) admit(jobs []*job) (heads []*job) {
	g.mu.Lock()
	defer g.mu.Unlock()
	heads = jobs[:0:0]
	for _, j := range jobs {
		gr := g.m[j.msg.GroupID]
		if gr == nil {
			g.m[j.msg.GroupID] = &group{head: j}
			heads = append(heads, j)
			continue
		}
		gr.waiting = append(gr.waiting, j)
	}
	return heads
}

// settled ends j's turn as its group's head. When acked, the next waiting message
// becomes the head and is returned; otherwise the group ends and the waiting messages
// are returned in order, to release. Nothing happens when j is not a head (a follower,
// or a head already settled).
func (g *groups) settled(j *job, acked bool) (next *job, release []*job) {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.m[j.msg.GroupID]
	if gr == nil || gr.head != j {
		return nil, nil
	}
	if acked && len(gr.waiting) > 0 {
		next = gr.waiting[0]
		gr.waiting[0] = nil
		gr.waiting = gr.waiting[1:]
		gr.head = next
		return next, nil
	}
	delete(g.m, j.msg.GroupID)
	return nil, gr.waiting
}

// detach returns the messages waiting behind the head j, to release, and keeps j the
// group's head: j is held and comes back to the workers later.
func (g *groups) detach(j *job) []*job {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.m[j.msg.GroupID]
	if gr == nil || gr.head != j {
		return nil
	}
	out := gr.waiting
	gr.waiting = nil
	return out
}

// groupSettled is called once j's final action is queued (acked says whether it was an
// ack): on a FIFO source, the next message of j's group is started, or the messages
// waiting behind j are released.
func (w *Worker) groupSettled(j *job, acked bool, sem *semaphore.Weighted) {
	if j.src.fifo == nil {
		return
	}
	next, rest := j.src.fifo.settled(j, acked)
	if next != nil {
		w.dispatch(next, sem)
	}
	w.releaseFollowers(j, rest, sem)
}

// groupHeld releases the messages waiting behind j, which is held through a
// deployment error: they come back, in order, once j is settled.
func (w *Worker) groupHeld(j *job, sem *semaphore.Weighted) {
	if j.src.fifo == nil {
		return
	}
	w.releaseFollowers(j, j.src.fifo.detach(j), sem)
}

// dispatch hands a group's new head to the workers; once the worker stops taking jobs,
// it releases it (and, through it, its group) instead.
func (w *Worker) dispatch(j *job, sem *semaphore.Weighted) {
	w.holdMu.Lock()
	if !w.pollersDone {
		w.jobs <- j // never blocks: the job has its slot, and the channel holds MaxInFlight
		w.holdMu.Unlock()
		return
	}
	w.holdMu.Unlock()
	w.release(j, sem, false)
}

// releaseFollowers makes the messages that waited behind head visible again, in order,
// after head's own visibility change (one flush at a time per source keeps the order).
func (w *Worker) releaseFollowers(head *job, rest []*job, sem *semaphore.Weighted) {
	if len(rest) == 0 {
		return
	}
	w.stats.groupReleased.Add(int64(len(rest)))
	w.log.Info("FIFO group released behind its head: each of its messages waiting here is delivered again (its receive count grows by one)",
		slog.String("source", head.src.Name()), slog.String("group_id", head.msg.GroupID),
		slog.String("head_message_id", head.msg.ID), slog.Int("released", len(rest)))
	for _, f := range rest {
		w.release(f, sem, false)
	}
}
