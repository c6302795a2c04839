package worker_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// fakeEngine is a tiny engine that does not depend on events.d, so that the loop's
// outcome table is tested on its own. A body is
//
//	{"event_id": ID, "event_type": T, "schema_version": V, "tenant_id": …, "body": {...}}
//
// and the body's "do" field picks the verdict: "invalid", "invalid-typed" (Invalid, to
// the type's own rejected table, with header fields and attributes), "rule" (RuleFailed), "panic",
// "block" (waits on the block channel), anything else valid. Valid events go to table
// "events" keyed by pk = "evt#" + event_id; rejected ones to "rejected".
type fakeEngine struct {
	retry engine.RetryPolicy
	block chan struct{} // closed to release "block" messages

	mu    sync.Mutex
	calls map[string]int // evaluations per event id
}

func newFakeEngine() *fakeEngine {
	return &fakeEngine{retry: engine.RetryPolicy{MaxAttempts: 5, InitialDelay: 30 * time.Second,
		Multiplier: 2, MaxDelay: 5 * time.Minute, Jitter: 0.2}, block: make(chan struct{}), calls: map[string]int{}}
}

// rejection is where a rejected body is stored.
func (e *fakeEngine) rejection(body string) engine.Persist {
	sum := sha256.Sum256([]byte(body))
	return engine.Persist{Table: "rejected", Key: []engine.Attribute{{Name: "pk", Value: "rejected#" + hex.EncodeToString(sum[:])}}}
}

func (e *fakeEngine) evaluations(id string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls[id]
}

func (e *fakeEngine) Evaluate(ctx context.Context, body string, _ ...engine.EvalOption) *engine.Verdict {
	v := e.evaluate(ctx, body)
	if v.Outcome == engine.Valid || v.Outcome == engine.Invalid {
		v.PayloadHash = engine.PayloadHash(body) // as the engine sets it for storage
	}
	return v
}

func (e *fakeEngine) evaluate(ctx context.Context, body string) *engine.Verdict {
	v := &engine.Verdict{Retry: e.retry}
	var doc struct {
		ID      string         `json:"event_id"`
		Type    string         `json:"event_type"`
		Version string         `json:"schema_version"`
		Body    map[string]any `json:"body"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		v.Outcome = engine.Invalid
		v.Err = &engine.DecodeError{Reason: err.Error()}
		p := e.rejection(body)
		v.Rejected = &p
		return v
	}
	e.mu.Lock()
	e.calls[doc.ID]++
	e.mu.Unlock()
	v.EventID, v.EventType, v.Version = doc.ID, doc.Type, doc.Version
	switch doc.Body["do"] {
	case "invalid":
		v.Outcome = engine.Invalid
		v.Violations = []engine.Violation{{Rule: "body.total.gt", Field: "body.total", Message: "must be > 0"}}
		p := e.rejection(body)
		v.Rejected = &p
		return v
	case "invalid-typed":
		// A type with its own rejected table and attributes; one header field valid.
		v.Outcome = engine.Invalid
		v.Violations = []engine.Violation{{Rule: "header.client_id.required", Field: "header.client_id", Message: "is required"}}
		v.Header = []engine.Attribute{{Name: "event_id", Value: doc.ID}, {Name: "tenant_id", Value: "tenant-7"}}
		p := e.rejection(body)
		p.Table = "rejected_orders"
		p.Attributes = []engine.Attribute{{Name: "order_ref", Value: "ord-9"}}
		v.Rejected = &p
		return v
	case "rule":
		v.Outcome = engine.RuleFailed
		v.Err = &engine.RuleError{Rule: "big-orders", Pos: engine.Pos{File: "order.yaml", Line: 12, Col: 9},
			Err: fmt.Errorf("no such key: items")}
		return v
	case "panic":
		panic("boom in a rule")
	case "block":
		select {
		case <-e.block:
		case <-ctx.Done():
		}
	}
	v.Outcome = engine.Valid
	v.Persist = &engine.Persist{Table: "events", Key: []engine.Attribute{{Name: "pk", Value: "evt#" + doc.ID}},
		Attributes: []engine.Attribute{{Name: "tenant", Value: "t-1"}}}
	v.Fields, v.Body = document(body)
	return v
}

// document decodes a valid body for storage as the engine does: its members but
// "body", and "body".
func document(body string) ([]engine.Attribute, map[string]any) {
	d := json.NewDecoder(bytes.NewReader([]byte(body)))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		panic(err) // Evaluate has decoded it already
	}
	var fields []engine.Attribute
	for k, x := range m {
		if k != "body" {
			fields = append(fields, engine.Attribute{Name: k, Value: x})
		}
	}
	b, _ := m["body"].(map[string]any)
	return fields, b
}

func event(id, do string) string {
	return fmt.Sprintf(`{"event_id":%q,"event_type":"order.placed","schema_version":"v1","tenant_id":"tenant-7","body":{"do":%q,"total":10.5}}`, id, do)
}

// rig is a worker on fakes.
type rig struct {
	t      *testing.T
	eng    *fakeEngine
	queue  *workertest.Queue
	dlq    *workertest.Queue
	table  *workertest.Table
	clock  *workertest.FakeClock
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan error
}

type rigOption func(*worker.Config, *workertest.QueueOptions)

func newRig(t *testing.T, opts ...rigOption) *rig {
	t.Helper()
	r := &rig{t: t, eng: newFakeEngine(), table: workertest.NewTable(workertest.Upsert),
		clock: workertest.NewFakeClock(time.Date(2026, 2, 4, 14, 0, 0, 0, time.UTC))}
	qo := workertest.QueueOptions{VisibilityTimeout: 60 * time.Second, WaitTime: 20 * time.Millisecond, Clock: r.clock}
	cfg := worker.Config{
		Engine:            r.eng,
		Sink:              r.table,
		Workers:           8,
		MaxInFlight:       40,
		VisibilityTimeout: 60 * time.Second,
		GracePeriod:       5 * time.Second,
		CallTimeout:       2 * time.Second,
		ReceiveTimeout:    2 * time.Second,
		AckLinger:         5 * time.Millisecond,
		PutLinger:         5 * time.Millisecond,
		ReceiveBackoff:    10 * time.Millisecond,
		ReceiveBackoffMax: 40 * time.Millisecond,
		PauseMin:          50 * time.Millisecond,
		PauseMax:          200 * time.Millisecond,
		Now:               r.clock.Now,
		Rand:              func() float64 { return 0.5 },
		Logger:            testLogger(t),
	}
	for _, o := range opts {
		o(&cfg, &qo)
	}
	r.queue = workertest.NewQueue("q", qo)
	r.dlq = workertest.NewQueue("q-dlq", workertest.QueueOptions{})
	cfg.Sources = []worker.SourceConfig{{Source: r.queue, Pollers: 2, FIFO: qo.FIFO}}
	cfg.DeadLetter = r.dlq
	w, err := worker.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r.w = w
	return r
}

func (r *rig) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.done = make(chan error, 1)
	go func() { r.done <- r.w.Run(ctx) }()
	r.t.Cleanup(func() { r.stop() })
}

// stop cancels the worker and waits for Run to return.
func (r *rig) stop() {
	r.t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(15 * time.Second):
		r.t.Fatal("Run did not return after cancel")
	}
}

// waitFor polls cond every few milliseconds for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
