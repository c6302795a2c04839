package worker

import (
	"time"

	"eventproc/engine"
)

// Observer is told about every settled message, for metrics. The worker calls it from
// many goroutines at once, after the message's outcome is decided and before its ack or
// visibility change is queued; it must be safe for concurrent use and must not block.
type Observer interface {
	Settled(s Settlement)
}

// IntakeObserver, when the Observer implements it too, is told when intake pauses and
// resumes: cause is Fatal (a deployment error) or Outage (a dependency failing most
// writes) when it pauses, "" when it resumes. It must be safe for concurrent use and must not
// block.
type IntakeObserver interface {
	IntakeChanged(cause Outcome)
}

// Settlement is what became of one message.
type Settlement struct {
	Outcome Outcome
	// Verdict is the engine's verdict; nil when the message was not evaluated (released
	// unstarted) or evaluation panicked.
	Verdict *engine.Verdict
	// Took is the time from the message's receipt to its outcome.
	Took time.Duration
	// Delay is the retry delay (Outcome Retry).
	Delay time.Duration
	// DeadLetter is the outcome a dead-letter send was made under ("" when none was),
	// and DeadLetterErr its result (nil: sent).
	DeadLetter    Outcome
	DeadLetterErr error
}

// observe reports s to the configured observer, if any.
func (w *Worker) observe(s Settlement) {
	if w.cfg.Observer != nil {
		w.cfg.Observer.Settled(s)
	}
}
