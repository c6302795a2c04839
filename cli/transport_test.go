package cli

import (
	"encoding/json"
	"eventproc/internal/fixture"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const notifyTopic = "arn:aws:sns:us-east-1:000000000000:orders"

// notification wraps event in an SNS notification as fauxqs delivers one to SQS (no
// raw delivery), on one line.
func notification(t *testing.T, event string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"Type": "Notification", "MessageId": "n-1", "TopicArn": notifyTopic,
		"Subject": nil, "Message": event, "Timestamp": "2026-02-04T17:00:16.123Z", "SignatureVersion": "1",
		"Signature": "EXAMPLE", "MessageAttributes": map[string]any{"tier": map[string]string{"Type": "String", "Value": "gold"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestValidateTransport: validate reads a file of SNS notifications under --transport
// sns (and under the default auto) with the verdicts of the events inside, naming the
// topic; a malformed notification is an invalid line that says why; under raw the
// notification itself is judged.
func TestValidateTransport(t *testing.T) {
	invalid := strings.Replace(fixture.ValidLine, `"total":100.50`, `"total":-1`, 1)
	file := filepath.Join(t.TempDir(), "queue.ndjson")
	lines := []string{
		notification(t, fixture.ValidLine),
		notification(t, invalid),
		`{"Type":"Notification","TopicArn":"` + notifyTopic + `","Message":7}`,
		fixture.ValidLine,
	}
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	valid := `{"line":1,"valid":true,"event_type":"order.placed","schema_version":"v1","event_id":"6f1c","topic_arn":"` + notifyTopic + `","key":{"pk":"t7#6f1c"}}`
	violation := `{"line":2,"valid":false,"event_type":"order.placed","schema_version":"v1","event_id":"6f1c","topic_arn":"` + notifyTopic + `","violations":[{"rule":"body.total.gt","field":"body.total","message":"must be greater than 0"}]}`
	malformed := `{"line":3,"valid":false,"error":"sns notification: Message is a number, not a string"}`
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"validate", "--transport", "sns", file}, []string{valid, violation, malformed,
			`{"line":4,"valid":false,"error":"sns notification: Type is missing"}`}},
		{[]string{"validate", file}, []string{valid, violation, malformed,
			`{"line":4,"valid":true,"event_type":"order.placed","schema_version":"v1","event_id":"6f1c","key":{"pk":"t7#6f1c"}}`}},
	} {
		code, out, errs := runCLI(t, "", c.args...)
		if code != 1 {
			t.Errorf("%v: exit %d, want 1\n%s", c.args, code, errs)
		}
		if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%v:\n%s\nwant:\n%s", c.args, out, strings.Join(c.want, "\n"))
		}
	}
	code, out, _ := runCLI(t, "", "validate", "--transport", "raw", file)
	if first := strings.SplitN(out, "\n", 2)[0]; code != 1 || strings.Contains(first, `"valid":true`) || !strings.Contains(first, "required") {
		t.Errorf("--transport raw: exit %d, first verdict %s, want the notification rejected as an event", code, first)
	}
}

// TestTransportFlagUsage: a transport that is not one is a usage error (exit 2) naming
// the choices, for every command that takes --transport.
func TestTransportFlagUsage(t *testing.T) {
	for _, args := range [][]string{
		{"validate", "--transport", "bogus"},
		{"diff", "--old", "events.d", "--transport", "bogus", "-"},
		{"test", "--transport", "bogus"},
	} {
		code, _, errs := runCLI(t, "", args...)
		if code != 2 || !strings.Contains(errs, "must be one of auto, raw, sns") {
			t.Errorf("%v: exit %d, stderr %q; want 2 naming auto, raw, sns", args, code, errs)
		}
	}
}

// TestDiffTransport: diff replays a corpus of notifications under --transport sns: the
// events inside change verdict as raw ones would.
func TestDiffTransport(t *testing.T) {
	newDir := fixture.BrokenRules(t, "payment.processed.yaml", strings.Replace(readFile(t, "events.d/payment.processed.yaml"), "gt: 0", "gt: 0, max: 1000", 1))
	payment := `{"event_id":"p-1","event_type":"payment.processed","tenant_id":"t","client_id":"c","schema_version":"v1","occurred_at":"x","body":{"payment_id":"p","order_id":"o","amount":5000,"payment_method":"card","status":"ok"}}`
	corpus := filepath.Join(t.TempDir(), "corpus.ndjson")
	if err := os.WriteFile(corpus, []byte(notification(t, payment)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "", "diff", "--old", "events.d", "--new", newDir, "--transport", "sns", corpus)
	if code != 1 || !strings.Contains(out, corpus+":1: payment.processed v1 p-1: valid → invalid; newly failing: body.amount.max") {
		t.Errorf("--transport sns: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "diff", "--old", "events.d", "--new", newDir, "--transport", "raw", corpus)
	if code != 0 || !strings.Contains(out, "0 with a changed verdict") {
		t.Errorf("--transport raw: exit %d, want the notification invalid under both\n%s", code, out)
	}
}

// TestTestTransport: test --transport sns delivers the cases that name no transport,
// built or raw, wrapped in an SNS notification; a case's own transport wins.
func TestTestTransport(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"envelope.yaml": readFile(t, "events.d/envelope.yaml"),
		"defaults.yaml": readFile(t, "events.d/defaults.yaml"),
		"t.yaml":        "type: t\nversions:\n  v1:\n    fields: {s: {type: string}}\n    rules:\n      - id: via-sns\n        expr: message.transport == \"sns\"\n",
		"t_test.yaml": `base: {event_id: e, event_type: t, tenant_id: a, client_id: c, schema_version: v1, occurred_at: "2026-02-04T14:00:15Z", body: {s: x}}
cases:
  - name: wrapped
    expect: valid
  - name: always raw
    transport: raw
    expect: {violations: [{rule: via-sns}]}
  - name: raw text, wrapped too
    raw: '{"event_id":"e","event_type":"t","tenant_id":"a","client_id":"c","schema_version":"v1","occurred_at":"2026-02-04T14:00:15Z","body":{"s":"x"}}'
    expect: valid
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errs := runCLI(t, "", "test", "--rules", dir, "--transport", "sns"); code != 0 || !strings.Contains(out, "3 passed, 0 failed") {
		t.Errorf("--transport sns: exit %d\n%s%s", code, out, errs)
	}
	if code, out, _ := runCLI(t, "", "test", "--rules", dir); code != 1 || !strings.Contains(out, "1 passed, 2 failed") {
		t.Errorf("default transport: exit %d\n%s", code, out)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
