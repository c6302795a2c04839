package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// TestValidateEventBridge: validate --envelope eventbridge (or EVENTPROC_ENVELOPE)
// judges EventBridge events, the version read from detail.schema_version; the same
// events in the default envelope are not events at all.
func TestValidateEventBridge(t *testing.T) {
	ev := func(detailType, detail string) string {
		return `{"version":"0","id":"e-1","detail-type":"` + detailType + `","source":"com.example.shop","account":"tenant-7","time":"2026-02-04T17:00:15Z","region":"eu-west-1","resources":[],"detail":` + detail + `}`
	}
	in := strings.Join([]string{
		ev("order.placed", `{"schema_version":"v1","order_id":"o-1","user_id":"u-1","total":10.5,"items_count":1,"status":"confirmed"}`),
		ev("order.placed", `{"schema_version":"v2","order_id":"o-1","user_id":"u-1","total":10.5,"items_count":1,"status":"confirmed","currency":"EUR"}`),
		ev("order.placed", `{"order_id":"o-1","user_id":"u-1","total":10.5,"items_count":1,"status":"confirmed"}`),
		ev("order.placed", `{"schema_version":"v7","order_id":"o-1"}`),
		ev("payment.processed", `{"schema_version":"v1","payment_id":"p-1","order_id":"o-1","amount":0,"payment_method":"card","status":"approved"}`),
	}, "\n") + "\n"
	type verdict struct {
		Valid         bool              `json:"valid"`
		EventType     string            `json:"event_type"`
		SchemaVersion string            `json:"schema_version"`
		Key           map[string]string `json:"key"`
		Violations    []struct{ Rule string }
		Error         string `json:"error"`
	}
	judge := func(out string) []verdict {
		var vs []verdict
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var v verdict
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			vs = append(vs, v)
		}
		return vs
	}
	code, out, errs := runCLI(t, in, "validate", "--envelope", "eventbridge")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (some are invalid)\n%s\n%s", code, out, errs)
	}
	vs := judge(out)
	if len(vs) != 5 {
		t.Fatalf("%d verdicts for 5 events:\n%s", len(vs), out)
	}
	if !vs[0].Valid || vs[0].SchemaVersion != "v1" || vs[0].Key["pk"] != "tenant-7#e-1" ||
		!vs[1].Valid || vs[1].SchemaVersion != "v2" ||
		vs[2].Valid || len(vs[2].Violations) != 1 || vs[2].Violations[0].Rule != "body.schema_version.required" ||
		vs[3].Valid || !strings.Contains(vs[3].Error, `unknown version "v7"`) ||
		vs[4].Valid || vs[4].EventType != "payment.processed" || len(vs[4].Violations) != 1 || vs[4].Violations[0].Rule != "body.amount.gt" {
		t.Errorf("verdicts:\n%s", out)
	}

	// The envelope setting of the environment selects it too.
	var o, e bytes.Buffer
	code = Run(context.Background(), []string{"validate"}, []string{"PATH=/usr/bin", "EVENTPROC_ENVELOPE=eventbridge"}, strings.NewReader(in), &o, &e)
	if code != 1 || o.String() != out {
		t.Errorf("EVENTPROC_ENVELOPE=eventbridge: exit %d\n%s\n%s", code, o.String(), e.String())
	}

	// In the default envelope they are not predecessor events.
	_, out, _ = runCLI(t, in, "validate")
	for _, v := range judge(out) {
		if v.Valid {
			t.Errorf("an EventBridge event is valid in the predecessor envelope:\n%s", out)
		}
	}
}
