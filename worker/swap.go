package worker

import (
	"context"
	"sync/atomic"

	"eventproc/engine"
)

// SwapEngine is an Engine whose rules can be replaced while the worker runs (a SIGHUP
// reload). Each evaluation takes the current engine once, and its verdict carries the
// item to store, so that a message is evaluated and stored under one set of rules and
// a swap takes effect between messages. Safe for concurrent use.
type SwapEngine struct {
	cur atomic.Pointer[engineRef]
}

type engineRef struct{ Engine }

var _ Engine = (*SwapEngine)(nil)

// NewSwapEngine returns a SwapEngine serving e.
func NewSwapEngine(e Engine) *SwapEngine {
	s := &SwapEngine{}
	s.Store(e)
	return s
}

// Load returns the current engine.
func (s *SwapEngine) Load() Engine { return s.cur.Load().Engine }

// Store makes e the engine of every message started from now on. Messages being
// evaluated finish under the engine they started with, and their verdicts carry their
// items: any change of rules, the envelope's body field included, takes effect between
// messages.
func (s *SwapEngine) Store(e Engine) { s.cur.Store(&engineRef{e}) }

// AttributeChecker is implemented by an Engine that reads message attributes
// (*engine.Ruleset): it says whether the names a message was received with include
// every one its rules read.
type AttributeChecker interface {
	AttributesCoveredBy(names []string) bool
}

// AttributesCoveredBy asks the current engine (true when it does not say).
func (s *SwapEngine) AttributesCoveredBy(names []string) bool {
	c, ok := s.Load().(AttributeChecker)
	return !ok || c.AttributesCoveredBy(names)
}

// Evaluate evaluates body with the current engine.
func (s *SwapEngine) Evaluate(ctx context.Context, body string, opts ...engine.EvalOption) *engine.Verdict {
	return s.Load().Evaluate(ctx, body, opts...)
}
