package engine

import (
	"maps"
	"os"
	"testing"
)

// TestEnvelopeInfoVariables: Envelope lists the selected envelope's variables with
// their expressions, and a caller's change to them does not reach the ruleset.
func TestEnvelopeInfoVariables(t *testing.T) {
	for env, want := range map[string]map[string]string{
		"":            {"tenant_id": "header.tenant_id", "event_id": "header.event_id"},
		"cloudevents": {"tenant_id": "header.tenantid", "event_id": "header.id"},
	} {
		var opts []Option
		if env != "" {
			opts = append(opts, WithEnvelope(env))
		}
		rs, diags := Load(os.DirFS("../events.d"), opts...)
		if rs == nil {
			t.Fatalf("load %q: %v", env, diags)
		}
		info := rs.Envelope()
		if !maps.Equal(info.Variables, want) {
			t.Errorf("envelope %q: variables %v, want %v", env, info.Variables, want)
		}
		info.Variables["tenant_id"] = "changed"
		if rs.Envelope().Variables["tenant_id"] != want["tenant_id"] {
			t.Errorf("envelope %q: a change to the info reached the ruleset", env)
		}
	}
}
