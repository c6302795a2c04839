package e2e

import (
	"encoding/json"
	"maps"
	"reflect"
	"testing"
	"time"

	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestEndToEndEnvelopes: the same events, sent once in the predecessor's format, once
// as CloudEvents to a worker started with --envelope cloudevents, and once as
// EventBridge events to a worker whose envelope setting (EVENTPROC_ENVELOPE) is
// eventbridge, give the same items (key, type, version, id, status, body; the
// EventBridge body also carries its schema_version): switching envelopes is
// configuration.
func TestEndToEndEnvelopes(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	pred := newE2E(t, bin, "events.d", 30*time.Second)
	events := generate(t, pred.rs, 60, true, 21)
	var cloud, bridge []string
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
		detail := m["body"].(map[string]any)
		detail["schema_version"] = m["schema_version"]
		eb, _ := json.Marshal(map[string]any{
			"version": "0", "id": m["event_id"], "detail-type": m["event_type"], "source": "com.example.e2e",
			"account": m["tenant_id"], "time": "2026-02-04T14:00:15Z", "region": "eu-west-1", "resources": []any{},
			"detail": detail,
		})
		bridge = append(bridge, string(eb))
	}
	collect := func(s *e2eSetup, bodies []string, env []string, args ...string) map[string]map[string]ddbtypes.AttributeValue {
		s.send(t, s.queueURL, bodies)
		p := s.run(t, bin, env, args...)
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
	a := collect(pred, events, pred.env)
	ce := newE2E(t, bin, "events.d", 30*time.Second)
	b := collect(ce, cloud, ce.env, "--envelope", "cloudevents")
	eb := newE2E(t, bin, "events.d", 30*time.Second)
	c := collect(eb, bridge, append(append([]string(nil), eb.env...), "EVENTPROC_ENVELOPE=eventbridge"))
	if len(a) != len(events) || len(b) != len(events) || len(c) != len(events) {
		t.Fatalf("%d, %d and %d items for %d events", len(a), len(b), len(c), len(events))
	}
	for name, other := range map[string]map[string]map[string]ddbtypes.AttributeValue{"CloudEvents": b, "EventBridge": c} {
		for pk, x := range a {
			y, ok := other[pk]
			if !ok {
				t.Errorf("item %s is missing under the %s envelope", pk, name)
				continue
			}
			if body, ok := y["body"].(*ddbtypes.AttributeValueMemberM); ok && name == "EventBridge" {
				m := maps.Clone(body.Value)
				delete(m, "schema_version") // the version travels in the detail
				y = maps.Clone(y)
				y["body"] = &ddbtypes.AttributeValueMemberM{Value: m}
			}
			for _, attr := range []string{"status", "event_type", "schema_version", "event_id", "body"} {
				if !reflect.DeepEqual(x[attr], y[attr]) {
					t.Errorf("%s item %s: %s differs: %#v vs %#v", name, pk, attr, x[attr], y[attr])
				}
			}
			if str(x["status"]) != "processed" {
				t.Errorf("item %s: status %s", pk, str(x["status"]))
			}
		}
	}
}
