package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// TestEndToEndFIFO: `eventproc provision` makes a FIFO queue with a FIFO dead-letter
// queue, and `eventproc run` on it settles each group's messages in the order they
// were sent (its log's outcome lines, per group) and stores each event once with its
// message's group and sequence number; the queue and its dead-letter queue end empty.
func TestEndToEndFIFO(t *testing.T) {
	bin := binary(t)
	s := newE2E(t, bin, "events.d", 30*time.Second)
	cmd := exec.Command(bin, "provision", "--rules", s.rules, "--queue", "orders.fifo")
	cmd.Env, cmd.Dir = s.env, t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("provision orders.fifo: %v\n%s", err, out)
	}
	sq := s.emu.SQSClient()
	ctx := context.Background()
	fifo := *s
	for name, url := range map[string]*string{"orders.fifo": &fifo.queueURL, "orders-dlq.fifo": &fifo.dlqURL} {
		q, err := sq.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		if err != nil {
			t.Fatalf("queue %s after provision: %v", name, err)
		}
		*url = aws.ToString(q.QueueUrl)
	}

	const groups, per = 4, 10
	bodies := generate(t, s.rs, groups*per, true, 11, "v1")
	sent := map[string][]string{}  // group → message ids in send order
	eventOf := map[string]string{} // event id → group
	for g := range groups {
		group := fmt.Sprintf("tenant-%d", g)
		in := &sqs.SendMessageBatchInput{QueueUrl: aws.String(fifo.queueURL)}
		for i, b := range bodies[g*per : (g+1)*per] {
			id, _ := header(t, b)
			eventOf[id] = group
			in.Entries = append(in.Entries, sqstypes.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(b),
				MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(id)})
		}
		res, err := sq.SendMessageBatch(ctx, in)
		if err != nil || len(res.Failed) > 0 {
			t.Fatalf("send: %v %+v", err, res)
		}
		ids := make([]string, per)
		for _, ok := range res.Successful {
			i, _ := strconv.Atoi(aws.ToString(ok.Id))
			ids[i] = aws.ToString(ok.MessageId)
		}
		sent[group] = ids
	}

	p := fifo.run(t, bin, s.env)
	waitUntil(t, "every event stored", 60*time.Second, p, func() bool {
		return len(s.items(t)) >= groups*per && s.queueCount(t, fifo.queueURL) == 0
	})
	if code := p.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}

	groupOf := map[string]string{}
	for g, ids := range sent {
		for _, id := range ids {
			groupOf[id] = g
		}
	}
	settled := map[string][]string{}
	for _, l := range p.lines("message") {
		id, _ := l["message_id"].(string)
		if l["outcome"] != "processed" {
			t.Errorf("message %s: outcome %v", id, l["outcome"])
		}
		settled[groupOf[id]] = append(settled[groupOf[id]], id)
	}
	for g, ids := range sent {
		if !slices.Equal(settled[g], ids) {
			t.Errorf("group %s settled in order %v, sent %v", g, settled[g], ids)
		}
	}
	seqs := map[string][]string{}
	for _, it := range s.items(t) {
		id := str(it["event_id"])
		if g := str(it["message_group_id"]); g != eventOf[id] || str(it["sequence_number"]) == "" {
			t.Errorf("item %s: message_group_id %q (want %q), sequence_number %q", id, g, eventOf[id], str(it["sequence_number"]))
		}
		seqs[eventOf[id]] = append(seqs[eventOf[id]], str(it["sequence_number"]))
	}
	for g, ss := range seqs {
		if len(ss) != per || len(slices.Compact(slices.Sorted(slices.Values(ss)))) != per {
			t.Errorf("group %s: sequence numbers %v, want %d distinct", g, ss, per)
		}
	}
	for _, url := range []string{fifo.queueURL, fifo.dlqURL} {
		if n := s.queueCount(t, url); n != 0 {
			t.Errorf("%s: %d messages left", url, n)
		}
	}
}
