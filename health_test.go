package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestReadyz: /readyz's status code and reason through a run's life — rules not
// loaded, worker not built, not started, the first probe pending, a probe failure,
// ready, draining — while /healthz answers 200 throughout.
func TestReadyz(t *testing.T) {
	rs, diags := engine.Load(os.DirFS("events.d"))
	if rs == nil {
		t.Fatal(diags)
	}
	h := &health{probing: true}
	handler := httpHandler(h, metrics.New())
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec.Code, rec.Body.String()
	}
	expect := func(stage string, code int, reason string) {
		t.Helper()
		if c, _ := get("/healthz"); c != http.StatusOK {
			t.Errorf("%s: /healthz = %d", stage, c)
		}
		c, body := get("/readyz")
		if c != code || !strings.Contains(body, reason) {
			t.Errorf("%s: /readyz = %d %q, want %d %q", stage, c, body, code, reason)
		}
	}
	expect("rules not loaded", 503, "not ready: rules not loaded")
	h.rules.Store(true)
	expect("no worker yet", 503, "not ready: starting")
	w, err := worker.New(worker.Config{Engine: rs,
		Sources:    []worker.SourceConfig{{Source: workertest.NewQueue("q", workertest.QueueOptions{WaitTime: 10 * time.Millisecond})}},
		Sink:       workertest.NewTable(workertest.Upsert),
		DeadLetter: workertest.NewQueue("q-dlq", workertest.QueueOptions{}),
	})
	if err != nil {
		t.Fatal(err)
	}
	h.worker.Store(w)
	expect("worker not started", 503, "not ready: not started")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for w.Ready() != nil && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	expect("first probe pending", 503, "not ready: checking the queues and tables")
	probeErr := errors.New("table events: ResourceNotFoundException")
	h.probe.Store(&probeErr)
	expect("probe failed", 503, "not ready: table events: ResourceNotFoundException")
	var ok error
	h.probe.Store(&ok)
	expect("running", 200, "ready")
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	expect("stopped", 503, "not ready: draining")
	if c, body := get("/metrics"); c != 200 || !strings.Contains(body, "eventproc_rules_reloads_total") {
		t.Errorf("/metrics = %d", c)
	}
}
