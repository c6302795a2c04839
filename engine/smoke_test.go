package engine

import (
	"context"
	"os"
	"testing"
)

func TestSmoke(t *testing.T) {
	rs, ds := Load(os.DirFS("../events.d"))
	for _, d := range ds {
		t.Log(d)
	}
	if rs == nil {
		t.Fatal("no ruleset")
	}
	for _, b := range []string{
		`{"event_id":"6f1c2a7e","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":2,"status":"confirmed"}}`,
		`{"event_id":"6f1c2a7e","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":"100.50","items_count":2.5,"status":""}}`,
		`{"event_id":"6f1c2a7e","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v2","occurred_at":"2026-02-04T14:00:15-03:00","body":{"order_id":"ord-1","user_id":"u-1","total":100.50,"items_count":3,"status":"confirmed","currency":"EUR","items":[{"sku":"a","quantity":2,"unit_price":50.25}]}}`,
		`nope`,
	} {
		v := rs.Evaluate(context.Background(), b)
		t.Logf("%+v persist=%+v reason=%s", v, v.Persist, v.Reason())
	}
}
