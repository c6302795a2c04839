package engine

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"
)

// metaRules is a type whose rules, variable, key and attributes read message.
const metaRules = `type: t
persist:
  key:
    pk: header.tenant_id + "#" + message.group_id
  attributes:
    topic: message.topic_arn
    sent: message.sent_at
    count: message.receive_count
    attrs: message.attributes
    via: message.transport
    sns_tier: message.sns_attributes[?"tier"].orValue("")
    seq: message.sequence_number
versions:
  v1:
    fields:
      s: {type: string, required: true}
    variables:
      tier: message.attributes[?"tier"].orValue("none")
    rules:
      - id: not-blocked
        expr: '!("blocked" in message.attributes)'
        message_expr: '"blocked by " + message.attributes["blocked"] + " (tier " + tier + ")"'
      - id: s-known
        field: body.s
        expr: body.s != "bad"
`

func metaEvent(s string) string {
	return `{"event_id":"e-1","event_type":"t","schema_version":"v1","tenant_id":"acme","body":{"s":"` + s + `"}}`
}

func attrMap(p *Persist) map[string]any {
	out := map[string]any{}
	for _, a := range p.Attributes {
		out[a.Name] = a.Value
	}
	return out
}

// TestMessageInCEL: rules, variables, keys and attributes read the metadata given
// with WithMessage, and the zero values without it.
func TestMessageInCEL(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": metaRules})
	ctx := context.Background()
	sent := time.Date(2026, 2, 4, 17, 0, 0, 0, time.UTC)
	m := &Message{ID: "m-1", Attributes: map[string]string{"tier": "gold"}, SentAt: sent, ReceiveCount: 3,
		GroupID: "g-7", SequenceNumber: "18888"}
	v := rs.Evaluate(ctx, metaEvent("ok"), WithMessage(m))
	if v.Outcome != Valid {
		t.Fatalf("with metadata: %s: %s", v.Outcome, v.Reason())
	}
	if got := v.Persist.Key[0].Value; got != "acme#g-7" {
		t.Errorf("key %q, want acme#g-7", got)
	}
	want := map[string]any{"topic": "", "sent": sent, "count": int64(3), "attrs": map[string]any{"tier": "gold"},
		"via": "raw", "sns_tier": "", "seq": "18888"}
	if got := attrMap(v.Persist); !reflect.DeepEqual(got, want) {
		t.Errorf("attributes with metadata\n got %v\nwant %v", got, want)
	}

	v = rs.Evaluate(ctx, metaEvent("ok"))
	if v.Outcome != Valid {
		t.Fatalf("without metadata: %s: %s", v.Outcome, v.Reason())
	}
	want = map[string]any{"topic": "", "sent": time.Unix(0, 0).UTC(), "count": int64(0), "attrs": map[string]any{},
		"via": "raw", "sns_tier": "", "seq": ""}
	if got := attrMap(v.Persist); !reflect.DeepEqual(got, want) || v.Persist.Key[0].Value != "acme#" {
		t.Errorf("without metadata: key %v attributes\n got %v\nwant %v", v.Persist.Key, got, want)
	}

	blocked := &Message{Attributes: map[string]string{"blocked": "ops", "tier": "gold"}, GroupID: "g"}
	v = rs.Evaluate(ctx, metaEvent("ok"), WithMessage(blocked))
	if v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Message != "blocked by ops (tier gold)" {
		t.Errorf("blocked: %s %v", v.Outcome, v.Violations)
	}
}

// TestMessageFromSNS: an unwrapped notification's topic, attributes, subject and time
// are in message even when the caller gave no metadata.
func TestMessageFromSNS(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": metaRules})
	v := rs.Evaluate(context.Background(), snsFauxqs(metaEvent("ok"), map[string]string{"tier": "gold"}))
	if v.Outcome != Valid {
		t.Fatalf("%s: %s", v.Outcome, v.Reason())
	}
	got := attrMap(v.Persist)
	if got["topic"] != testTopic || got["via"] != "sns" || got["sns_tier"] != "gold" {
		t.Errorf("attributes %v, want the topic, transport sns and the SNS attribute", got)
	}
}

// TestMessageInRejectedItems: a rejected event keeps the attributes that read message,
// and a version keyed by message keys its valid items by it.
func TestMessageInRejectedItems(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": metaRules})
	v := rs.Evaluate(context.Background(), snsAWS(metaEvent("bad")), ForStorage, WithMessage(&Message{GroupID: "g"}))
	if v.Outcome != Invalid || v.Rejected == nil {
		t.Fatalf("got %s, want invalid with a rejected target", v.Outcome)
	}
	got := map[string]any{}
	for _, a := range v.Rejected.Attributes {
		got[a.Name] = a.Value
	}
	if got["topic"] != testTopic || got["via"] != "sns" {
		t.Errorf("rejected attributes %v, want the topic and transport", got)
	}
	if want := rs.Rejection(metaEvent("bad")); !reflect.DeepEqual(v.Rejected.Key, want.Key) {
		t.Errorf("rejected key %v, want the key of the event itself %v", v.Rejected.Key, want.Key)
	}
}

// TestMessageAttributeNames: the SQS attributes the rules read by a constant name,
// ["All"] for any other use of message.attributes, nil for none.
func TestMessageAttributeNames(t *testing.T) {
	rule := func(expr string) map[string]string {
		return map[string]string{"t.yaml": "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n    rules:\n      - id: r\n        expr: '" + expr + "'\n"}
	}
	cases := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"none", rule(`has(body.s)`), nil},
		{"other fields", rule(`message.group_id != "" && message.sns_attributes["x"] != ""`), nil},
		{"index", rule(`message.attributes["tier"] == "gold"`), []string{"tier"}},
		{"in", rule(`"tier" in message.attributes`), []string{"tier"}},
		{"select", rule(`message.attributes.tier == "gold"`), []string{"tier"}},
		{"has", rule(`has(message.attributes.tier)`), []string{"tier"}},
		{"optional index", rule(`message.attributes[?"tier"].orValue("") == ""`), []string{"tier"}},
		{"optional select", rule(`message.attributes.?tier.orValue("") == ""`), []string{"tier"}},
		{"several, sorted", rule(`message.attributes["z"] == message.attributes["a"] || "m" in message.attributes`), []string{"a", "m", "z"}},
		{"has on the map", rule(`has(message.attributes)`), nil},
		{"computed key", rule(`message.attributes[body.s] == "x"`), []string{"All"}},
		{"size", rule(`size(message.attributes) > 0`), []string{"All"}},
		{"iterated", rule(`message.attributes.exists(k, k == "x")`), []string{"All"}},
		{"message whole", rule(`dyn(message).id != ""`), []string{"All"}},
		{"loop variable named message", rule(`[1].all(message, message > 0)`), nil},
		{"variable", map[string]string{"t.yaml": "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n    variables:\n      a: message.attributes[\"v\"]\n"}, []string{"v"}},
		{"key and attribute", map[string]string{"t.yaml": "type: t\npersist:\n  key:\n    pk: message.attributes[\"k\"]\n  attributes:\n    x: message.attributes[\"x\"]\nversions:\n  v1:\n    fields: {s: {type: string}}\n"}, []string{"k", "x"}},
		{"message_expr", map[string]string{"t.yaml": "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n    rules:\n      - id: r\n        expr: 'true'\n        message_expr: 'message.attributes[\"why\"]'\n"}, []string{"why"}},
		{"envelope rule", map[string]string{
			"t.yaml":        "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n",
			"envelope.yaml": baseFiles["envelope.yaml"] + "  rules:\n    - id: e\n      expr: '\"env\" in message.attributes'\n"}, []string{"env"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := ruleset(t, c.files)
			got := rs.MessageAttributeNames()
			if !slices.Equal(got, c.want) || (c.want == nil) != (got == nil) {
				t.Errorf("got %q, want %q", got, c.want)
			}
			// What was asked for covers the rules when it holds what they read.
			if !rs.AttributesCoveredBy(got) || !rs.AttributesCoveredBy([]string{"All"}) {
				t.Errorf("%q or All does not cover the rules", got)
			}
			if c.want != nil && rs.AttributesCoveredBy([]string{"other"}) {
				t.Errorf("[other] covers rules that read %q", got)
			}
			if c.want == nil && !rs.AttributesCoveredBy(nil) {
				t.Error("nothing asked does not cover rules that read no attribute")
			}
		})
	}
}

// TestMessageZeroValues: without metadata every field of message is present with its
// zero value, also through dyn.
func TestMessageZeroValues(t *testing.T) {
	rs := ruleset(t, map[string]string{"t.yaml": "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n    rules:\n      - id: r\n        expr: 'has(message.id) && has(message.attributes) && !has(message.attributes.x) && dyn(message).group_id == \"\" && message.attributes.size() == 0 && message.sns_attributes.size() == 0 && string(message.sent_at) == \"1970-01-01T00:00:00Z\" && message.sns_timestamp == timestamp(0) && message.receive_count == 0 && message.transport == \"raw\"'\n"})
	v := rs.Evaluate(context.Background(), `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"a","body":{}}`)
	if v.Outcome != Valid {
		t.Fatalf("%s: %s", v.Outcome, v.Reason())
	}
}

// TestMessageInEnvelopeRules: the envelope's rules and variables see message too.
func TestMessageInEnvelopeRules(t *testing.T) {
	rs := ruleset(t, map[string]string{
		"t.yaml":        "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n",
		"envelope.yaml": baseFiles["envelope.yaml"] + "  variables:\n    denied: '\"deny\" in message.attributes'\n  rules:\n    - id: not-denied\n      expr: '!denied'\n",
	})
	ev := `{"event_id":"e","event_type":"t","schema_version":"v1","tenant_id":"a","body":{}}`
	if v := rs.Evaluate(context.Background(), ev); v.Outcome != Valid {
		t.Errorf("without metadata: %s: %s", v.Outcome, v.Reason())
	}
	v := rs.Evaluate(context.Background(), ev, WithMessage(&Message{Attributes: map[string]string{"deny": "1"}}))
	if v.Outcome != Invalid || len(v.Violations) != 1 || v.Violations[0].Rule != "not-denied" {
		t.Errorf("denied: %s %v", v.Outcome, v.Violations)
	}
	if got := rs.MessageAttributeNames(); !slices.Equal(got, []string{"deny"}) {
		t.Errorf("MessageAttributeNames %q, want [deny]", got)
	}
}

// TestMessageUnreadCostsNothing: when no rule reads message, giving Evaluate metadata
// costs only the verdict's copy of it (one allocation), and a raw body read under auto
// costs what it did before transports (the shipped rules: BenchmarkEvaluateOrderV1).
func TestMessageUnreadCostsNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are checked without -race: make test runs this test again without it")
	}
	rs := shipped(t)
	ctx := context.Background()
	m := &Message{ID: "m", Attributes: map[string]string{"a": "b"}, GroupID: "g"}
	bare := testing.AllocsPerRun(200, func() { rs.Evaluate(ctx, benchOrder) })
	with := testing.AllocsPerRun(200, func() { rs.Evaluate(ctx, benchOrder, WithMessage(m)) })
	raw := testing.AllocsPerRun(200, func() { rs.Evaluate(ctx, benchOrder, WithTransport(TransportRaw)) })
	if with-bare > 1.5 || bare-raw > 0.5 {
		t.Errorf("allocations: %v bare (auto), %v raw, %v with metadata; want auto = raw and at most one more with metadata", bare, raw, with)
	}
}
