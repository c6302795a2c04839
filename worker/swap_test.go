package worker_test

import (
	"bytes"
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestSwapChangesBodyField: rules swapped while the worker runs may name another body
// field; the messages evaluated after the swap are stored with the new one, as "body",
// since each verdict carries its item.
func TestSwapChangesBodyField(t *testing.T) {
	load := func(bodyField string) *engine.Ruleset {
		rules := fstest.MapFS{}
		for name, f := range workertestRules {
			rules[name] = f
		}
		rules["envelope.yaml"] = &fstest.MapFile{Data: bytes.Replace(workertestRules["envelope.yaml"].Data,
			[]byte("body_field: body"), []byte("body_field: "+bodyField), 1)}
		rs, diags := engine.Load(rules)
		if rs == nil || diags.HasErrors() {
			t.Fatalf("rules do not load: %v", diags)
		}
		return rs
	}
	eng := worker.NewSwapEngine(load("body"))
	queue := workertest.NewQueue("q", workertest.QueueOptions{WaitTime: 10 * time.Millisecond})
	table := workertest.NewTable(workertest.Upsert)
	w, err := worker.New(worker.Config{Engine: eng, Sink: table, DeadLetter: workertest.NewQueue("dlq", workertest.QueueOptions{}),
		Sources: []worker.SourceConfig{{Source: queue}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	processed := func(n int64) func() bool {
		return func() bool { return w.Stats().Outcomes[worker.Processed] == n }
	}
	queue.Enqueue(`{"event_id":"e1","event_type":"o","schema_version":"v1","tenant_id":"t","body":{"order_id":"o-1"}}`, nil)
	waitFor(t, "the first event", processed(1))
	eng.Store(load("data"))
	queue.Enqueue(`{"event_id":"e2","event_type":"o","schema_version":"v1","tenant_id":"t","data":{"order_id":"o-2"}}`, nil)
	waitFor(t, "the second event", processed(2))

	for _, c := range []struct {
		pk   string
		want map[string]any
	}{
		{"t#e1", map[string]any{"body": map[string]any{"order_id": "o-1"}}},
		{"t#e2", map[string]any{"body": map[string]any{"order_id": "o-2"}}},
	} {
		it, ok := table.Get("events", map[string]string{"pk": c.pk})
		if !ok {
			t.Fatalf("no item %s in events: %v", c.pk, table.Items("events"))
		}
		got := map[string]any{}
		for k := range c.want {
			got[k] = it.Attrs[k]
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("item %s (-want +got):\n%s", c.pk, diff)
		}
		if _, ok := it.Attrs["data"]; ok {
			t.Errorf("item %s keeps the body field as data: %v", c.pk, it.Attrs)
		}
	}
}
