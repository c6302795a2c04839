package worker_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestShippedRules runs the loop with the real engine and the shipped events.d on the
// fakes: valid, invalid, undecodable and duplicate predecessor-format events.
func TestShippedRules(t *testing.T) {
	rs, diags := engine.Load(os.DirFS("../events.d"))
	if rs == nil {
		t.Fatalf("events.d does not load: %v", diags)
	}
	queue := workertest.NewQueue("q", workertest.QueueOptions{WaitTime: 10 * time.Millisecond})
	dlq := workertest.NewQueue("dlq", workertest.QueueOptions{})
	table := workertest.NewTable(workertest.Upsert)
	const order = `{"event_id":"6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`
	bad := strings.Replace(order, `"items_count":2`, `"items_count":2.5`, 1)
	bad = strings.Replace(bad, "6f1c2a7e", "00000000", 1)
	queue.Enqueue(order, nil)
	queue.Enqueue(order, nil) // a duplicate
	queue.Enqueue(bad, nil)
	queue.Enqueue(`{"event_id":`, nil)
	w, err := worker.New(worker.Config{Engine: rs, Sink: table, DeadLetter: dlq,
		Sources: []worker.SourceConfig{{Source: queue}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	waitFor(t, "drained", func() bool { return queue.Len() == 0 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var processed, failed []worker.Item
	for _, tbl := range rs.Tables() {
		for _, it := range table.Items(tbl.Name) {
			switch it.Attrs["status"] {
			case "processed":
				processed = append(processed, it)
			case "failed":
				failed = append(failed, it)
			}
		}
	}
	if len(processed) != 1 || len(failed) != 2 {
		t.Fatalf("processed %d, failed %d; want 1 and 2", len(processed), len(failed))
	}
	p := processed[0]
	if p.Key["pk"] != "tenant-7#6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11" {
		t.Errorf("key = %v", p.Key)
	}
	body, ok := p.Attrs["body"].(map[string]any)
	if !ok || body["order_id"] != "ord-1" || body["total"] != json.Number("100.50") {
		t.Errorf("body = %#v, want the native map", p.Attrs["body"])
	}
	for _, k := range []string{"event_id", "event_type", "tenant_id", "client_id", "schema_version", "occurred_at",
		"status", "processed_at", "message_id", "attempts", "order_id"} {
		if _, ok := p.Attrs[k]; !ok {
			t.Errorf("item lacks %s: %v", k, p.Attrs)
		}
	}
	for _, f := range failed {
		if !strings.HasPrefix(f.Key["pk"], "rejected#") || f.Attrs["reason"] == "" || f.Attrs["raw_body"] == "" {
			t.Errorf("rejected item = %+v", f)
		}
		if f.Attrs["raw_body"] == bad {
			v := f.Attrs["violations"].([]any)
			if len(v) == 0 || !strings.Contains(v[0].(map[string]any)["field"].(string), "items_count") {
				t.Errorf("violations = %v", v)
			}
			if f.Attrs["event_type"] != "order.placed" {
				t.Errorf("rejected item lacks its type: %v", f.Attrs)
			}
		}
	}
}
