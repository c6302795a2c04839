package worker

import (
	"context"
	"os"
	"testing"
	"time"

	"eventproc/engine"
)

// BenchmarkValidItem evaluates an order.placed v1 event with the shipped rules and
// builds its item: the per-event cost of the engine and the worker together, before
// any AWS call.
func BenchmarkValidItem(b *testing.B) {
	rs, diags := engine.Load(os.DirFS("../events.d"))
	if rs == nil || diags.HasErrors() {
		b.Fatalf("events.d: %v", diags)
	}
	w := &Worker{cfg: Config{Engine: rs, Now: time.Now}}
	const body = `{"event_id":"6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`
	msg := Message{ID: "m", Body: body, ReceiveCount: 1}
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		v := rs.Evaluate(ctx, body, engine.ForStorage)
		if v.Outcome != engine.Valid {
			b.Fatal(v.Reason())
		}
		if _, err := w.validItem(msg, v); err != nil {
			b.Fatal(err)
		}
	}
}
