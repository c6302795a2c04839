package engine

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
)

// The predecessor's example order.placed v1 event.
const benchOrder = `{"event_id":"6f1c2a7e-0b7e-4c8e-9a43-2f1d7b1e9c11","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`

// BenchmarkEvaluateOrderV1 decodes and validates an order.placed v1 event with the
// shipped rules and computes its key: the engine's per-event cost.
func BenchmarkEvaluateOrderV1(b *testing.B) {
	rs := shipped(b)
	ctx := context.Background()
	if v := rs.Evaluate(ctx, benchOrder); v.Outcome != Valid {
		b.Fatalf("benchmark event is %s: %s", v.Outcome, v.Reason())
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchOrder)))
	for b.Loop() {
		if v := rs.Evaluate(ctx, benchOrder); v.Outcome != Valid {
			b.Fatal(v.Reason())
		}
	}
}

// handOrder is the hand-written baseline: encoding/json into structs plus if-statements
// doing the same checks as the shipped v1 rules, and the same key.
type handOrder struct {
	EventID       *string `json:"event_id"`
	EventType     *string `json:"event_type"`
	TenantID      *string `json:"tenant_id"`
	ClientID      *string `json:"client_id"`
	SchemaVersion *string `json:"schema_version"`
	OccurredAt    *string `json:"occurred_at"`
	Body          *struct {
		OrderID    *string  `json:"order_id"`
		UserID     *string  `json:"user_id"`
		Total      *float64 `json:"total"`
		ItemsCount *int64   `json:"items_count"`
		Status     *string  `json:"status"`
	} `json:"body"`
}

var errHand = errors.New("invalid")

func nonEmpty(s *string) bool { return s != nil && *s != "" }

func handValidate(body string) (string, error) {
	var e handOrder
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		return "", err
	}
	if !nonEmpty(e.EventID) || !nonEmpty(e.EventType) || !nonEmpty(e.TenantID) || !nonEmpty(e.ClientID) ||
		!nonEmpty(e.SchemaVersion) || !nonEmpty(e.OccurredAt) || e.Body == nil {
		return "", errHand
	}
	if *e.EventType != "order.placed" || *e.SchemaVersion != "v1" {
		return "", errHand
	}
	bd := e.Body
	if !nonEmpty(bd.OrderID) || !nonEmpty(bd.UserID) || bd.Total == nil || *bd.Total <= 0 ||
		bd.ItemsCount == nil || *bd.ItemsCount <= 0 || !nonEmpty(bd.Status) {
		return "", errHand
	}
	return *e.TenantID + "#" + *e.EventID, nil
}

// BenchmarkBaselineHandWritten is the baseline the engine is measured against.
func BenchmarkBaselineHandWritten(b *testing.B) {
	if _, err := handValidate(benchOrder); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchOrder)))
	for b.Loop() {
		if _, err := handValidate(benchOrder); err != nil {
			b.Fatal(err)
		}
	}
}
