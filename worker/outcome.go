package worker

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime/debug"
	"strconv"
	"time"

	"golang.org/x/sync/semaphore"

	"eventproc/engine"
)

// Outcome names what became of a message, in logs, dead-letter attributes and Stats.
type Outcome string

const (
	Processed  Outcome = "processed"   // valid; item stored; acked
	Rejected   Outcome = "rejected"    // invalid; rejected item stored; acked
	RuleFailed Outcome = "rule_failed" // a rule failed to evaluate; dead-lettered; acked
	Retry      Outcome = "retry"       // retryable failure; visible again after the policy's delay
	Exhausted  Outcome = "exhausted"   // retryable failure on the last attempt; dead-lettered; acked
	Fatal      Outcome = "fatal"       // deployment error; held until intake resumes; intake paused
	Outage     Outcome = "outage"      // retryable failure while its table or dead-letter queue fails most writes (outage.go); held like fatal, no attempt spent
	Panicked   Outcome = "panic"       // a panic while handling it; dead-lettered; acked
	Released   Outcome = "released"    // not finished when stopping (held ones too), or behind a FIFO group's unsettled head; visible again at once
	Broken     Outcome = "broken"      // a valid verdict whose item could not be built; dead-lettered; acked
	Unwritable Outcome = "unwritable"  // the store refuses the item for good (too large, …); dead-lettered; acked
	Conflict   Outcome = "conflict"    // its key is stored with another event's payload hash; stored item kept; dead-lettered; acked
)

// facts is what happened to a message before its outcome is decided.
type facts struct {
	verdict  *engine.Verdict // nil when Evaluate panicked
	wrote    bool            // an item was written (putErr is its result)
	putErr   error
	buildErr error
	panic    *panicError
	// stale: the rules were reloaded after the message was received, and read a message
	// attribute the receive did not ask for; its verdict is not acted on.
	stale bool

	item   Item         // the item written, when wrote
	outage *OutageError // putErr is part of an outage of the item's table

	// lookedUp: the item of an exhausted message was looked up (lookup.go); stored says
	// that it was found with the message's payload, lookupErr why it could not be told.
	lookedUp  bool
	stored    bool
	lookupErr error

	deadLettered bool // a dead-letter send was made (dlqErr is its result)
	dlqErr       error
	dlqOutage    *OutageError // dlqErr is part of an outage of the dead-letter queue
}

// action is what is done with a message: a dead-letter send (then decide again), an
// ack, or a visibility change.
type action struct {
	outcome    Outcome
	reason     string
	deadLetter bool // send to the source's DLQ; decide again with the result
	ack        bool
	visibility bool // change the visibility to delay
	delay      time.Duration
	hold       bool           // keep the message (its visibility extended) until intake resumes
	fatal      error          // trip the breaker (a *FatalError or an *OutageError)
	lookup     bool           // look its item up (lookup.go); decide again with the result
	conflict   *ConflictError // the conflict a Conflict outcome's dead letter reports
}

// decide maps what happened to a message to what is done with it. It is the only place
// where outcomes are decided; README.md's outcome table describes it. A message to
// dead-letter is decided twice: before the send (deadLetter) and after it (ack, or a
// retry or a pause when the dead-letter queue refused it); an exhausted one first looks
// its item up (lookup), and is acked when the item is stored after all.
//
// attempt is the message's receive count, stopped says that the grace period has run
// out (a failure then is ours, not the infrastructure's), u drives the retry jitter.
func decide(f facts, attempt int, stopped bool, u float64) action {
	retry := engine.DefaultRetry
	if f.verdict != nil {
		retry = f.verdict.Retry
	}
	var a action
	var pe *panicError
	var ce *ConflictError
	switch {
	case f.panic != nil:
		a = action{outcome: Panicked, reason: f.panic.Error(), deadLetter: true}
	case f.stale:
		a = action{outcome: Released, reason: "the rules were reloaded after it was received and read a message attribute it was received without", visibility: true}
	case f.verdict.Outcome == engine.RuleFailed:
		a = action{outcome: RuleFailed, reason: f.verdict.Reason(), deadLetter: true}
	case f.buildErr != nil:
		a = action{outcome: Broken, reason: f.buildErr.Error(), deadLetter: true}
	case !f.wrote:
		// Not reached: every Valid or Invalid verdict writes an item.
		a = action{outcome: Broken, reason: "verdict " + f.verdict.Outcome.String() + " wrote nothing", deadLetter: true}
	case f.putErr == nil && f.verdict.Outcome == engine.Valid:
		a = action{outcome: Processed, ack: true}
	case f.putErr == nil:
		a = action{outcome: Rejected, reason: f.verdict.Reason(), ack: true}
	case stopped:
		a = action{outcome: Released, reason: f.putErr.Error(), visibility: true}
	case IsFatal(f.putErr):
		a = action{outcome: Fatal, reason: f.putErr.Error(), hold: true, fatal: f.putErr}
	case IsUnwritable(f.putErr):
		a = action{outcome: Unwritable, reason: f.putErr.Error(), deadLetter: true}
	case errors.As(f.putErr, &ce):
		a = action{outcome: Conflict, reason: f.putErr.Error(), deadLetter: true, conflict: ce}
	case errors.As(f.putErr, &pe):
		a = action{outcome: Panicked, reason: f.putErr.Error(), deadLetter: true}
	case f.outage != nil:
		// Not the message's failure: no attempt is spent on it.
		a = action{outcome: Outage, reason: f.putErr.Error(), hold: true, fatal: f.outage}
	case retry.Exhausted(attempt):
		// Any other error counts as retryable: an unclassified failure is not proof
		// that retrying is useless.
		a = exhausted(f, retry.Delay(attempt, u), attempt-retry.MaxAttempts)
	default:
		a = action{outcome: Retry, reason: f.putErr.Error(), visibility: true, delay: retry.Delay(attempt, u)}
	}
	if !a.deadLetter || !f.deadLettered {
		return a
	}
	switch {
	case f.dlqErr == nil:
		a.deadLetter, a.ack = false, true
	case IsFatal(f.dlqErr):
		a = action{outcome: Fatal, reason: "dead-letter: " + f.dlqErr.Error(), hold: true, fatal: f.dlqErr}
	case f.dlqOutage != nil:
		a = action{outcome: Outage, reason: "dead-letter: " + f.dlqErr.Error(), hold: true, fatal: f.dlqOutage}
	default:
		// The dead-letter queue refused it for now: the whole message is tried again
		// later (it comes back and is dead-lettered then).
		a = action{outcome: Retry, reason: "dead-letter: " + f.dlqErr.Error(), visibility: true, delay: retry.Delay(attempt, u)}
	}
	return a
}

// settle decides a processed message's outcome and carries it out.
func (w *Worker) settle(j *job, f facts, sem *semaphore.Weighted) {
	a, dlOutcome := w.decideAll(j, &f)
	w.untrack(j)
	if a.fatal != nil {
		w.brk.trip(a.fatal)
	} else {
		w.brk.settled(a.outcome != Retry && a.outcome != Released)
	}
	w.stats.count(a.outcome)
	w.observe(Settlement{Outcome: a.outcome, Verdict: f.verdict, Took: time.Since(j.received), Delay: a.delay,
		DeadLetter: dlOutcome, DeadLetterErr: f.dlqErr})
	stack := ""
	if f.panic != nil {
		stack = f.panic.stack
	}
	w.logOutcome(j, f.verdict, a, stack)
	switch {
	case a.ack && j.src.fifo != nil:
		// The group's next message starts once this one is deleted: were the delete
		// to fail, this one would come back, and must not come back after its follower.
		w.ack(j, sem, func(err error) { w.groupSettled(j, err == nil, sem) })
	case a.ack:
		w.ack(j, sem, nil)
	case a.visibility:
		w.setVisibility(j, a.delay, sem)
		w.groupSettled(j, false, sem)
	case a.hold:
		w.hold(j, sem)
	}
}

// decideAll decides a message's outcome, making the calls that decide depends on: the
// look-up of an exhausted message's item, then the dead-letter send. dlOutcome is the
// outcome a dead-letter send was made under, "" when none was.
func (w *Worker) decideAll(j *job, f *facts) (a action, dlOutcome Outcome) {
	stopped := w.hardCtx.Err() != nil
	u := w.cfg.Rand()
	if f.wrote && f.putErr != nil {
		f.outage = w.outages.ownFailure(tableDep(f.item.Table), f.putErr)
	}
	a = decide(*f, j.msg.ReceiveCount, stopped, u)
	if a.lookup {
		f.lookedUp = true
		f.stored, f.lookupErr = w.lookup(f.item)
		if lookupUnknown(f.lookupErr) {
			// The read failed too: part of an outage (held), or tried again later.
			dep := tableDep(f.item.Table)
			w.outages.record(dep, f.lookupErr)
			f.outage = w.outages.ownFailure(dep, f.lookupErr)
		}
		a = decide(*f, j.msg.ReceiveCount, stopped, u)
	}
	if a.deadLetter {
		dlOutcome = a.outcome
		f.deadLettered = true
		f.dlqErr = w.deadLetter(j, f.verdict, a)
		dep := deadLetterDep(j.src.Name())
		w.outages.record(dep, f.dlqErr)
		f.dlqOutage = w.outages.ownFailure(dep, f.dlqErr)
		a = decide(*f, j.msg.ReceiveCount, stopped, u)
	}
	return a, dlOutcome
}

// release makes an unstarted message visible again at once. While the worker stops,
// that waits until the last long poll has returned, so that no poll in progress takes
// the message again.
func (w *Worker) release(j *job, sem *semaphore.Weighted, stopping bool) {
	if stopping {
		w.holdMu.Lock()
		if !w.pollersDone {
			w.held = append(w.held, j)
			w.holdMu.Unlock()
			return
		}
		w.holdMu.Unlock()
	}
	w.untrack(j)
	w.stats.count(Released)
	w.observe(Settlement{Outcome: Released, Took: time.Since(j.received)})
	w.log.Debug("message released", slog.String("message_id", j.msg.ID), slog.String("source", j.src.Name()))
	w.setVisibility(j, 0, sem)
	w.groupSettled(j, false, sem)
}

// ack deletes the message, then calls then (when not nil) with the delete's result.
func (w *Worker) ack(j *job, sem *semaphore.Weighted, then func(error)) {
	j.handedOff = true
	j.src.acks.Add(j.msg, func(err error) {
		sem.Release(1)
		if err != nil {
			w.stats.ackErrors.Add(1)
			w.log.Warn("ack failed: the message will be delivered again (its write is idempotent)",
				slog.String("message_id", j.msg.ID), slog.String("error", err.Error()))
		}
		if then != nil {
			then(err)
		}
	})
}

func (w *Worker) setVisibility(j *job, d time.Duration, sem *semaphore.Weighted) {
	j.handedOff = true
	j.src.vis.Add(Visibility{Message: j.msg, Delay: d}, func(err error) {
		sem.Release(1)
		if err != nil {
			w.stats.visibilityErrors.Add(1)
			w.log.Warn("visibility change failed: the message is visible again when its timeout ends",
				slog.String("message_id", j.msg.ID), slog.Duration("delay", d), slog.String("error", err.Error()))
		}
	})
}

// deadLetter sends the message to its source's dead-letter queue with the reason.
func (w *Worker) deadLetter(j *job, v *engine.Verdict, a action) error {
	attrs := map[string]string{
		"outcome":      string(a.outcome),
		"error":        truncate(a.reason, 1024),
		"attempts":     strconv.Itoa(j.msg.ReceiveCount),
		"last_failure": w.cfg.Now().UTC().Format(time.RFC3339Nano),
	}
	if !j.msg.FirstReceived.IsZero() {
		attrs["first_failure"] = j.msg.FirstReceived.UTC().Format(time.RFC3339Nano)
	}
	if len(j.msg.Attributes) > 0 {
		// The attributes received (those the rules read): redrive gives them back, so
		// that a redriven message is judged as it was.
		if b, err := json.Marshal(j.msg.Attributes); err == nil {
			attrs["message_attributes"] = string(b)
		}
	}
	o := originOf(j.msg, v)
	for k, val := range originFields(o) {
		if val != "" {
			attrs[k] = val
		}
	}
	if !o.SentAt.IsZero() {
		attrs["message_sent_at"] = o.SentAt.UTC().Format(time.RFC3339Nano)
	}
	if c := a.conflict; c != nil {
		// Both hashes and the key: enough to find the stored item and tell which event
		// is which.
		attrs["table"], attrs["key"] = c.Table, c.Key
		attrs[HashAttribute], attrs["existing_hash"] = c.Incoming, c.Existing
	}
	if v != nil {
		set := func(k, val string) {
			if val != "" {
				attrs[k] = val
			}
		}
		set("event_type", v.EventType)
		set("schema_version", v.Version)
		set("event_id", v.EventID)
		var re *engine.RuleError
		if errors.As(v.Err, &re) {
			set("rule", re.Rule)
			set("rule_position", re.Pos.String())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.CallTimeout)
	defer cancel()
	err := w.sendDeadLetter(ctx, j, attrs)
	if err == nil {
		w.stats.deadLettered.Add(1)
	}
	return err
}

// sendDeadLetter calls DeadLetter.Send, turning a panic into a retryable error.
func (w *Worker) sendDeadLetter(ctx context.Context, j *job, attrs map[string]string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &RetryableError{Err: &panicError{value: r, stack: string(debug.Stack())}}
		}
	}()
	return w.cfg.DeadLetter.Send(ctx, j.src.Name(), j.msg, attrs)
}

// logOutcome writes the one log line of a settled message; bodies are never logged.
func (w *Worker) logOutcome(j *job, v *engine.Verdict, a action, stack string) {
	level := slog.LevelInfo
	switch a.outcome {
	case Retry, Released:
		level = slog.LevelWarn
	case RuleFailed, Exhausted, Fatal, Panicked, Broken, Unwritable, Outage, Conflict:
		level = slog.LevelError
	}
	ctx := context.Background()
	if !w.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.String("outcome", string(a.outcome)),
		slog.String("message_id", j.msg.ID),
		slog.Int("attempt", j.msg.ReceiveCount),
	)
	if v != nil {
		attrs = append(attrs, slog.String("event_id", v.EventID), slog.String("event_type", v.EventType),
			slog.String("schema_version", v.Version))
	}
	if a.visibility {
		attrs = append(attrs, slog.Duration("delay", a.delay))
	}
	if a.reason != "" {
		attrs = append(attrs, slog.String("reason", truncate(a.reason, 512)))
	}
	attrs = append(attrs, slog.String("source", j.src.Name()))
	if stack != "" {
		attrs = append(attrs, slog.String("stack", stack))
	}
	w.log.LogAttrs(ctx, level, "message", attrs...)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
