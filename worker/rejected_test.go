package worker_test

import (
	"context"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"eventproc/engine"
	"eventproc/worker"
	"eventproc/worker/workertest"
)

// TestRejectedKeepsHeaderAndAttributes: a rejected item goes to the table the verdict
// names and keeps the header fields and persistence attributes the verdict carries.
func TestRejectedKeepsHeaderAndAttributes(t *testing.T) {
	r := newRig(t)
	id := r.queue.Enqueue(event("e-9", "invalid-typed"), nil)
	r.start()
	waitFor(t, "ack", func() bool { return r.queue.Len() == 0 })
	r.stop()
	if n := r.table.Len("rejected"); n != 0 {
		t.Errorf("%d items in the defaults' rejected table, want 0", n)
	}
	items := r.table.Items("rejected_orders")
	if len(items) != 1 {
		t.Fatalf("%d items in rejected_orders, want 1", len(items))
	}
	it := items[0]
	if !strings.HasPrefix(it.Key["pk"], "rejected#") {
		t.Errorf("key %v", it.Key)
	}
	want := map[string]any{
		"event_id": "e-9", "event_type": "order.placed", "schema_version": "v1", "tenant_id": "tenant-7",
		"order_ref": "ord-9",
		"status":    "failed", "processed_at": r.clock.Now().UTC(), "message_id": id, "attempts": int64(1),
		"reason":          "header.client_id.required: is required",
		"violations":      []any{map[string]any{"rule": "header.client_id.required", "field": "header.client_id", "message": "is required"}},
		"raw_body":        event("e-9", "invalid-typed"),
		"message_sent_at": r.clock.Now().UTC(),
		"payload_hash":    engine.PayloadHash(event("e-9", "invalid-typed")),
	}
	if diff := cmp.Diff(want, it.Attrs); diff != "" {
		t.Errorf("rejected item (-want +got):\n%s", diff)
	}
}

// workertestRules: one type with a persistence attribute, stored valid or rejected.
var workertestRules = fstest.MapFS{
	"envelope.yaml": {Data: []byte(`envelope:
  type_field: event_type
  version_field: schema_version
  id_field: event_id
  body_field: body
  fields:
    event_id: {type: string, required: true}
    event_type: {type: string, required: true}
    schema_version: {type: string, required: true}
    tenant_id: {type: string, required: true}
`)},
	"defaults.yaml": {Data: []byte(`defaults:
  persist:
    table: events
    rejected_table: rejected
    key:
      pk: header.tenant_id + "#" + header.event_id
`)},
	"o.yaml": {Data: []byte(`type: o
persist:
  attributes:
    order_id: body.order_id
versions:
  v1:
    fields:
      order_id: {type: string, required: true, min_length: 1}
      pad: {type: string}
`)},
}

// TestItemFieldsAreTheEngines: every attribute the worker writes on a valid or a
// rejected item (a cut body included) is a header field, a key attribute, a persistence
// attribute or one of engine.ItemFields, the names check keeps persistence attributes
// from taking.
func TestItemFieldsAreTheEngines(t *testing.T) {
	rs, diags := engine.Load(workertestRules)
	if rs == nil {
		t.Fatalf("rules do not load: %v", diags)
	}
	queue := workertest.NewQueue("q", workertest.QueueOptions{WaitTime: 10 * time.Millisecond})
	table := workertest.NewTable(workertest.Upsert)
	const valid = `{"event_id":"e1","event_type":"o","schema_version":"v1","tenant_id":"t","body":{"order_id":"o-1"}}`
	invalid := `{"event_id":"e2","event_type":"o","schema_version":"v1","tenant_id":"t","body":{"order_id":"","pad":"` + strings.Repeat("x", 400<<10) + `"}}`
	queue.Enqueue(valid, nil)
	queue.Enqueue(invalid, nil)
	w, err := worker.New(worker.Config{Engine: rs, Sink: table, DeadLetter: workertest.NewQueue("dlq", workertest.QueueOptions{}),
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
	allowed := map[string]bool{"order_id": true} // the persistence attribute
	for _, n := range engine.ItemFields() {
		allowed[n] = true
	}
	for _, n := range rs.Envelope().HeaderFields {
		allowed[n] = true
	}
	seen := map[string]bool{}
	for _, tbl := range rs.Tables() {
		for _, it := range table.Items(tbl.Name) {
			seen[it.Attrs["status"].(string)] = true
			for k := range it.Attrs {
				if !allowed[k] {
					t.Errorf("%s item in %s has attribute %q, which engine.ItemFields does not list", it.Attrs["status"], tbl.Name, k)
				}
			}
			// order_id reads the violated body.order_id: a rejected item leaves it out.
			if _, has := it.Attrs["order_id"]; it.Attrs["status"] == "failed" && (it.Attrs["raw_body_truncated"] != true || has) {
				t.Errorf("rejected item: truncated %v, order_id %v", it.Attrs["raw_body_truncated"], it.Attrs["order_id"])
			}
		}
	}
	if !seen["processed"] || !seen["failed"] {
		t.Errorf("items stored: %v; want a processed and a failed one", seen)
	}
}
