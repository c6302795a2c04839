package sqsqueue

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

// provisionFIFO provisions a FIFO queue and its dead-letter queue.
func provisionFIFO(t *testing.T, c *sqs.Client) Provisioned {
	t.Helper()
	p, err := Provision(context.Background(), c, awstest.UniqueName("fifo")+".fifo", ProvisionOptions{MaxAttempts: 3, VisibilityTimeout: 30 * time.Second})
	if err != nil {
		t.Fatalf("provision: %v", err)
	}
	t.Cleanup(func() {
		c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(p.URL)})
		c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: aws.String(p.DeadLetterURL)})
	})
	return p
}

// drainFIFO receives and acks every message of a FIFO queue, returning the bodies of
// each group in the order received.
func drainFIFO(t *testing.T, q *Queue, n int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	got := 0
	deadline := time.Now().Add(15 * time.Second)
	for got < n && time.Now().Before(deadline) {
		msgs, err := q.Receive(context.Background(), 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if m.SequenceNumber == "" {
				t.Errorf("message %s without a sequence number", m.ID)
			}
			out[m.GroupID] = append(out[m.GroupID], m.Body)
		}
		got += len(msgs)
		if _, err := q.Ack(context.Background(), msgs); err != nil {
			t.Fatal(err)
		}
	}
	if got != n {
		t.Fatalf("received %d messages, want %d", got, n)
	}
	return out
}

// TestFIFOProvisionDeadLetterRedrive: a FIFO queue gets a FIFO dead-letter queue
// without content-based deduplication and a roomier maxReceiveCount; a dead letter goes in its message's group,
// deduplicated by its message id (a repeated send is stored once); redrive moves the
// dead letters back in their groups, each group in order, and empties the dead-letter
// queue.
func TestFIFOProvisionDeadLetterRedrive(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	ctx := context.Background()
	p := provisionFIFO(t, c)
	if !IsFIFO(p.DeadLetterURL) || p.DeadLetterURL == p.URL {
		t.Fatalf("dead-letter queue %s", p.DeadLetterURL)
	}
	if p.MaxReceiveCount != 30 {
		t.Errorf("maxReceiveCount %d, want 10 × max attempts (30): releases behind a group's head count as receives", p.MaxReceiveCount)
	}
	attrs, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(p.DeadLetterURL),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameFifoQueue, types.QueueAttributeNameContentBasedDeduplication}})
	if err != nil {
		t.Fatal(err)
	}
	if a := attrs.Attributes; a["FifoQueue"] != "true" || a["ContentBasedDeduplication"] != "false" {
		t.Errorf("dead-letter queue attributes %v", a)
	}

	dl := NewDeadLetter(c, DeadLetterOptions{})
	want := map[string][]string{}
	for i := range 4 {
		for _, g := range []string{"a", "b", "c"} {
			body := fmt.Sprintf(`{"group":%q,"n":%d}`, g, i)
			msg := worker.Message{ID: g + fmt.Sprint(i), Body: body, GroupID: g}
			for range 2 { // a retried send: deduplicated
				if err := dl.Send(ctx, p.URL, msg, map[string]string{"outcome": "exhausted", "message_group_id": g}); err != nil {
					t.Fatal(err)
				}
			}
			want[g] = append(want[g], body)
		}
	}
	if n := depth(t, c, p.DeadLetterURL); n != 12 {
		t.Fatalf("dead-letter queue holds %d, want 12 (each send once)", n)
	}

	res, err := Redrive(ctx, c, p.DeadLetterURL, p.URL, RedriveOptions{})
	if err != nil || res.Moved != 12 || res.Failed != 0 {
		t.Fatalf("redrive: %+v, %v", res, err)
	}
	got := drainFIFO(t, New(c, p.URL, Options{WaitTime: time.Second, MessageAttributeNames: allAttributes}), 12)
	for g, bodies := range want {
		if !slices.Equal(got[g], bodies) {
			t.Errorf("group %s back in order %v, want %v", g, got[g], bodies)
		}
	}
	if n := depth(t, c, p.DeadLetterURL); n != 0 {
		t.Errorf("dead-letter queue holds %d after the redrive", n)
	}
}

// TestFIFOReceiveMetadata: a FIFO message arrives with its group, sequence number and
// deduplication id.
func TestFIFOReceiveMetadata(t *testing.T) {
	t.Parallel()
	e := awstest.Shared(t)
	c := e.SQSClient()
	p := provisionFIFO(t, c)
	_, err := c.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(p.URL), MessageBody: aws.String("x"),
		MessageGroupId: aws.String("tenant-7"), MessageDeduplicationId: aws.String("dedup-1")})
	if err != nil {
		t.Fatal(err)
	}
	m := receiveAll(t, New(c, p.URL, Options{WaitTime: time.Second}), 1)[0]
	if m.GroupID != "tenant-7" || m.DeduplicationID != "dedup-1" || m.SequenceNumber == "" || m.ReceiveCount != 1 {
		t.Errorf("message = %+v", m)
	}
}
