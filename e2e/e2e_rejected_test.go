package e2e

import (
	"bytes"
	"context"
	"eventproc/cli"
	"eventproc/internal/fixture"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// TestEndToEndRejectedTable: a type that names its own rejected_table gets it from
// provision and check --connect, and the worker stores the type's rejected events
// there with the header fields that were valid and the persistence attributes it
// could compute, so that rejections can be found by tenant.
func TestEndToEndRejectedTable(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	rules := fixture.CopyEventsD(t)
	fixture.EditFile(t, filepath.Join(rules, "order.placed.yaml"), "persist:\n  table: events\n", "persist:\n  table: events\n  rejected_table: order_rejections\n")
	bin := binary(t)
	s := newE2E(t, bin, rules, 60*time.Second)
	var out, errb bytes.Buffer
	if code := cli.Run(context.Background(), []string{"check", "--rules", rules, "--connect"}, append(s.env, "EVENTPROC_QUEUE_URL="+s.queueURL),
		strings.NewReader(""), &out, &errb); code != 0 || out.Len() != 0 {
		t.Fatalf("check --connect: exit %d\n%s%s", code, out.String(), errb.String())
	}
	const header = `"event_id":"e-r1","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15Z"`
	invalid := `{` + header + `,"body":{"order_id":"ord-1","user_id":"u-1","total":0,"items_count":1,"status":"confirmed"}}`
	unknown := `{"event_id":"e-r2","event_type":"nope","tenant_id":"tenant-7","client_id":"","schema_version":"v1","occurred_at":"x","body":{}}`
	s.send(t, s.queueURL, []string{invalid, unknown})
	p := s.run(t, bin, s.env)
	ddb := s.emu.DynamoDBClient()
	scan := func(table string) []map[string]ddbtypes.AttributeValue {
		out, err := ddb.Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(table)})
		if err != nil {
			t.Fatal(err)
		}
		return out.Items
	}
	waitUntil(t, "both rejected", 60*time.Second, p, func() bool {
		return len(scan("order_rejections")) == 1 && len(scan("events")) == 1
	})
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	it := scan("order_rejections")[0]
	for k, want := range map[string]string{"status": "failed", "tenant_id": "tenant-7", "client_id": "client-42",
		"occurred_at": "2026-02-04T14:00:15Z", "event_id": "e-r1", "order_id": "ord-1", "raw_body": invalid} {
		if got := str(it[k]); got != want {
			t.Errorf("order_rejections item: %s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(str(it["pk"]), "rejected#") {
		t.Errorf("order_rejections item key %q", str(it["pk"]))
	}
	// An unknown type goes to the defaults' rejected table, with the valid header
	// fields only (client_id is empty: it breaks min_length).
	other := scan("events")[0]
	if str(other["tenant_id"]) != "tenant-7" || str(other["status"]) != "failed" {
		t.Errorf("events item: %v", other)
	}
	if _, ok := other["client_id"]; ok {
		t.Errorf("events item keeps the invalid client_id: %v", other["client_id"])
	}
}
