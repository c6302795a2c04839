package worker

import (
	"context"
	"sync/atomic"

	"eventproc/engine"
)

// SwapEngine is an Engine whose rules can be replaced while the worker runs (a SIGHUP
// reload). The worker takes the current engine once per message, so that a message is
// evaluated and stored under one set of rules and a swap takes effect between messages.
// Safe for concurrent use.
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
// evaluated finish under the engine they started with. The envelope's body field must
// not change (the worker reads it once, at New); the caller checks that.
func (s *SwapEngine) Store(e Engine) { s.cur.Store(&engineRef{e}) }

func (s *SwapEngine) Evaluate(ctx context.Context, body string) *engine.Verdict {
	return s.Load().Evaluate(ctx, body)
}

func (s *SwapEngine) Rejection(body string) engine.Persist { return s.Load().Rejection(body) }

func (s *SwapEngine) Envelope() engine.EnvelopeInfo { return s.Load().Envelope() }

// current is the engine to handle one message with: a SwapEngine's current one, else e.
func current(e Engine) Engine {
	if s, ok := e.(*SwapEngine); ok {
		return s.Load()
	}
	return e
}
