package e2e

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/engine"
)

// TestEndToEndConflict: two producers send different events under one event_id and
// tenant (one key) at the same time, each twice (a duplicate); the binary stores one
// of them (its duplicate is a silent success), dead-letters both copies of the other
// as conflicts, with the key and both hashes, and acks everything: the stored item is
// the one whose hash the dead letters name as existing_hash.
func TestEndToEndConflict(t *testing.T) {
	if testing.Short() {
		t.Skip("end to end")
	}
	bin := binary(t)
	s := newE2E(t, bin, "events.d", 60*time.Second)
	const header = `"event_id":"e-conflict","event_type":"order.placed","tenant_id":"tenant-7","client_id":"client-42","schema_version":"v1","occurred_at":"2026-02-04T14:00:15Z"`
	a := `{` + header + `,"body":{"order_id":"ord-a","user_id":"u-1","total":10,"items_count":1,"status":"confirmed"}}`
	b := `{` + header + `,"body":{"order_id":"ord-b","user_id":"u-2","total":20,"items_count":2,"status":"confirmed"}}`
	for _, body := range []string{a, b} {
		if v := s.rs.Evaluate(context.Background(), body); v.Outcome != engine.Valid {
			t.Fatalf("test event is %s: %s", v.Outcome, v.Reason())
		}
	}
	var wg sync.WaitGroup
	for _, body := range []string{a, b} {
		wg.Go(func() { s.send(t, s.queueURL, []string{body, body}) })
	}
	wg.Wait()
	p := s.run(t, bin, s.env)
	waitUntil(t, "queue drained, two dead letters", 60*time.Second, p, func() bool {
		return s.queueCount(t, s.queueURL) == 0 && s.queueCount(t, s.dlqURL) >= 2
	})
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	items := s.items(t)
	if len(items) != 1 {
		t.Fatalf("%d items, want 1", len(items))
	}
	stored := str(items[0]["payload_hash"])
	winner, loser, order := a, b, "ord-a"
	if stored == engine.PayloadHash(b) {
		winner, loser, order = b, a, "ord-b"
	}
	if stored != engine.PayloadHash(winner) || str(items[0]["order_id"]) != order {
		t.Fatalf("stored item: payload_hash %q, order_id %q; want one event's", stored, str(items[0]["order_id"]))
	}
	var got []sqstypes.Message
	for range 10 {
		out, err := s.emu.SQSClient().ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(s.dlqURL),
			MaxNumberOfMessages: 10, MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1, VisibilityTimeout: 60})
		if err != nil {
			t.Fatal(err)
		}
		if got = append(got, out.Messages...); len(got) >= 2 {
			break
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d dead letters, want 2", len(got))
	}
	for _, m := range got {
		attr := func(k string) string { return aws.ToString(m.MessageAttributes[k].StringValue) }
		if aws.ToString(m.Body) != loser || attr("outcome") != "conflict" || attr("payload_hash") != engine.PayloadHash(loser) ||
			attr("existing_hash") != stored || attr("key") == "" || attr("event_id") != "e-conflict" {
			t.Errorf("dead letter %q with attributes %v", aws.ToString(m.Body), m.MessageAttributes)
		}
	}
}
