package worker

import "sync/atomic"

// Stats counts what the worker did since it started.
type Stats struct {
	Received         int64
	Outcomes         map[Outcome]int64
	DeadLettered     int64 // messages sent to a dead-letter queue
	Extended         int64 // visibility extensions queued
	GroupReleased    int64 // FIFO messages released unstarted behind their group's head (counted Released too)
	ReceiveErrors    int64
	AckErrors        int64
	VisibilityErrors int64
}

type counters struct {
	received, deadLettered, extended             atomic.Int64
	receiveErrors, ackErrors, visibilityErrors   atomic.Int64
	processed, rejected, ruleFailed, retry       atomic.Int64
	exhausted, fatal, panicked, released, broken atomic.Int64
	unwritable, outage, conflict, groupReleased  atomic.Int64
}

func (c *counters) outcome(o Outcome) *atomic.Int64 {
	switch o {
	case Processed:
		return &c.processed
	case Rejected:
		return &c.rejected
	case RuleFailed:
		return &c.ruleFailed
	case Retry:
		return &c.retry
	case Exhausted:
		return &c.exhausted
	case Fatal:
		return &c.fatal
	case Panicked:
		return &c.panicked
	case Released:
		return &c.released
	case Unwritable:
		return &c.unwritable
	case Outage:
		return &c.outage
	case Conflict:
		return &c.conflict
	default:
		return &c.broken
	}
}

func (c *counters) count(o Outcome) { c.outcome(o).Add(1) }

var allOutcomes = []Outcome{Processed, Rejected, RuleFailed, Retry, Exhausted, Fatal, Panicked, Released, Broken, Unwritable, Outage, Conflict}

// Stats returns the counters; safe to call at any time.
func (w *Worker) Stats() Stats {
	s := Stats{
		Received:         w.stats.received.Load(),
		Outcomes:         map[Outcome]int64{},
		DeadLettered:     w.stats.deadLettered.Load(),
		Extended:         w.stats.extended.Load(),
		GroupReleased:    w.stats.groupReleased.Load(),
		ReceiveErrors:    w.stats.receiveErrors.Load(),
		AckErrors:        w.stats.ackErrors.Load(),
		VisibilityErrors: w.stats.visibilityErrors.Load(),
	}
	for _, o := range allOutcomes {
		s.Outcomes[o] = w.stats.outcome(o).Load()
	}
	return s
}
