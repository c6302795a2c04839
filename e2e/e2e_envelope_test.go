package e2e

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestEndToEndEnvelopes: the same events, sent once in the predecessor's format and
// once as CloudEvents to a worker started with --envelope cloudevents, give the same
// items (key, type, version, id, status, body): switching envelopes is configuration.
func TestEndToEndEnvelopes(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	pred := newE2E(t, bin, "events.d", 30*time.Second)
	events := generate(t, pred.rs, 60, true, 21)
	var cloud []string
	for _, b := range events {
		var m map[string]any
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
		ce, _ := json.Marshal(map[string]any{
			"specversion": "1.0", "id": m["event_id"], "source": "/e2e", "type": m["event_type"],
			"schemaversion": m["schema_version"], "tenantid": m["tenant_id"], "clientid": m["client_id"],
			"time": "2026-02-04T14:00:15Z", "datacontenttype": "application/json", "data": m["body"],
		})
		cloud = append(cloud, string(ce))
	}
	collect := func(s *e2eSetup, bodies []string, args ...string) map[string]map[string]ddbtypes.AttributeValue {
		s.send(t, s.queueURL, bodies)
		p := s.run(t, bin, s.env, args...)
		waitUntil(t, "every event stored", 90*time.Second, p, func() bool {
			return len(s.items(t)) >= len(bodies) && s.queueCount(t, s.queueURL) == 0
		})
		if code := p.stop(t, 20*time.Second); code != 0 {
			t.Errorf("exit %d after SIGTERM", code)
		}
		out := map[string]map[string]ddbtypes.AttributeValue{}
		for _, it := range s.items(t) {
			out[str(it["pk"])] = it
		}
		return out
	}
	a := collect(pred, events)
	ce := newE2E(t, bin, "events.d", 30*time.Second)
	b := collect(ce, cloud, "--envelope", "cloudevents")
	if len(a) != len(events) || len(b) != len(events) {
		t.Fatalf("%d and %d items for %d events", len(a), len(b), len(events))
	}
	for pk, x := range a {
		y, ok := b[pk]
		if !ok {
			t.Errorf("item %s is missing under the CloudEvents envelope", pk)
			continue
		}
		for _, attr := range []string{"status", "event_type", "schema_version", "event_id", "body"} {
			if !reflect.DeepEqual(x[attr], y[attr]) {
				t.Errorf("item %s: %s differs: %#v vs %#v", pk, attr, x[attr], y[attr])
			}
		}
		if str(x["status"]) != "processed" {
			t.Errorf("item %s: status %s", pk, str(x["status"]))
		}
	}
}
