package snstopic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
	"eventproc/worker"
)

func TestMain(m *testing.M) { awstest.Main(m) }

// These tests run against fauxqs's SNS, which delivers to its SQS.

func client(t *testing.T) (*awstest.Emulators, API) {
	e := awstest.Shared(t)
	return e, sns.NewFromConfig(e.Config)
}

// received is one message as an SQS consumer sees it.
type received struct {
	body, group, dedup string
	attrs              map[string]string
}

// drain receives what the queue at url holds, until want messages have come or 10 s
// pass.
func drain(t *testing.T, e *awstest.Emulators, url string, want int) []received {
	t.Helper()
	return drainFor(t, e, url, want, 10*time.Second)
}

func drainFor(t *testing.T, e *awstest.Emulators, url string, want int, wait time.Duration) []received {
	t.Helper()
	c := e.SQSClient()
	var out []received
	deadline := time.Now().Add(wait)
	for len(out) < want && time.Now().Before(deadline) {
		r, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameMessageGroupId, sqstypes.MessageSystemAttributeNameMessageDeduplicationId}})
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		for _, m := range r.Messages {
			rm := received{body: aws.ToString(m.Body), group: m.Attributes["MessageGroupId"], dedup: m.Attributes["MessageDeduplicationId"], attrs: map[string]string{}}
			for k, v := range m.MessageAttributes {
				rm.attrs[k] = aws.ToString(v.StringValue)
			}
			out = append(out, rm)
			if _, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatalf("delete: %v", err)
			}
		}
	}
	return out
}

func TestCreateTopicIsIdempotent(t *testing.T) {
	_, api := client(t)
	ctx := context.Background()
	for _, name := range []string{awstest.UniqueName("std"), awstest.UniqueName("ordered") + ".fifo"} {
		first, err := CreateTopic(ctx, api, name, TopicOptions{ContentBasedDeduplication: true})
		if err != nil {
			t.Fatalf("create %s: %v", name, err)
		}
		if Name(first) != name || !strings.HasPrefix(first, "arn:aws:sns:") {
			t.Errorf("arn of %s = %s", name, first)
		}
		again, err := CreateTopic(ctx, api, name, TopicOptions{})
		if err != nil || again != first {
			t.Errorf("create %s again = %s, %v; want %s", name, again, err, first)
		}
		attrs, err := api.(*sns.Client).GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(first)})
		if err != nil {
			t.Fatal(err)
		}
		if fifo := attrs.Attributes["FifoTopic"] == "true"; fifo != IsFIFO(name) {
			t.Errorf("%s: FifoTopic = %q", name, attrs.Attributes["FifoTopic"])
		}
		if IsFIFO(name) && attrs.Attributes["ContentBasedDeduplication"] != "false" {
			t.Errorf("%s: ContentBasedDeduplication = %q after the second create asked for none", name, attrs.Attributes["ContentBasedDeduplication"])
		}
		byName, err := ResolveARN(ctx, api, name, 0)
		if err != nil || byName != first {
			t.Errorf("resolve %s = %s, %v", name, byName, err)
		}
		if byARN, err := ResolveARN(ctx, api, first, 0); err != nil || byARN != first {
			t.Errorf("resolve %s = %s, %v", first, byARN, err)
		}
	}
	_, err := ResolveARN(ctx, api, awstest.UniqueName("missing"), 0)
	if !errors.As(err, new(*worker.FatalError)) || !strings.Contains(err.Error(), "no topic is named") {
		t.Errorf("resolve a missing topic: %v", err)
	}
}

// TestDeliveryRawAndWrapped subscribes two queues, one with raw delivery and one
// without, and publishes to the topic: the raw queue gets the message and its
// attributes as SQS message attributes, the other SNS's notification with the message
// as a string in Message. Resubscribing finds the subscription and switches its
// delivery.
func TestDeliveryRawAndWrapped(t *testing.T) {
	e, api := client(t)
	ctx := context.Background()
	topic, err := CreateTopic(ctx, api, awstest.UniqueName("fanout"), TopicOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rawQ := e.CreateQueue(t, "raw", nil)
	wrapQ := e.CreateQueue(t, "wrapped", nil)
	sub, err := SubscribeQueue(ctx, api, topic, rawQ.ARN, true, 0)
	if err != nil || !sub.Created {
		t.Fatalf("subscribe raw: %+v, %v", sub, err)
	}
	// Subscribed first with raw delivery, then switched off: the same subscription.
	first, err := SubscribeQueue(ctx, api, topic, wrapQ.ARN, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	again, err := SubscribeQueue(ctx, api, topic, wrapQ.ARN, false, 0)
	if err != nil || again.Created || again.ARN != first.ARN {
		t.Fatalf("resubscribe = %+v, %v; want the subscription %s found", again, err, first.ARN)
	}
	attrs, err := api.(*sns.Client).GetSubscriptionAttributes(ctx, &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(again.ARN)})
	if err != nil || attrs.Attributes["RawMessageDelivery"] != "false" {
		t.Fatalf("raw delivery after resubscribing = %q, %v", attrs.Attributes["RawMessageDelivery"], err)
	}
	body := `{"event_id":"e1","tenant_id":"t1"}`
	n, err := Publish(ctx, api, topic, []Message{{Body: body, Attributes: map[string]string{"source": "test"}}}, 0)
	if err != nil || n != 1 {
		t.Fatalf("publish = %d, %v", n, err)
	}
	raw := drain(t, e, rawQ.URL, 1)
	if len(raw) != 1 || raw[0].body != body || raw[0].attrs["source"] != "test" {
		t.Errorf("raw delivery = %+v", raw)
	}
	wrapped := drain(t, e, wrapQ.URL, 1)
	if len(wrapped) != 1 {
		t.Fatalf("wrapped delivery = %+v", wrapped)
	}
	var n1 struct {
		Type, TopicArn, Message string
		MessageAttributes       map[string]struct{ Type, Value string }
	}
	if err := json.Unmarshal([]byte(wrapped[0].body), &n1); err != nil {
		t.Fatalf("wrapped body %s: %v", wrapped[0].body, err)
	}
	if n1.Type != "Notification" || n1.TopicArn != topic || n1.Message != body || n1.MessageAttributes["source"].Value != "test" {
		t.Errorf("notification = %+v", n1)
	}
}

// TestPublishFIFO publishes 25 messages in three groups to a FIFO topic that feeds a
// FIFO queue: all arrive, each with its group and deduplication id, in order within
// its group; a message published again with the same deduplication id is not
// delivered twice.
func TestPublishFIFO(t *testing.T) {
	e, api := client(t)
	ctx := context.Background()
	topic, err := CreateTopic(ctx, api, awstest.UniqueName("ordered")+".fifo", TopicOptions{})
	if err != nil {
		t.Fatal(err)
	}
	fq := createFIFOQueue(t, e)
	if _, err := SubscribeQueue(ctx, api, topic, fq.ARN, true, 0); err != nil {
		t.Fatal(err)
	}
	var msgs []Message
	for i := range 25 {
		msgs = append(msgs, Message{Body: fmt.Sprintf(`{"n":%d}`, i), GroupID: fmt.Sprint("g", i%3), DeduplicationID: fmt.Sprint("d", i)})
	}
	// Nine at a time: fauxqs reads a PublishBatch's entries in the order of its form
	// keys (member.1, member.10, member.2, …), so it delivers a tenth entry second;
	// SNS keeps a batch's order.
	for start := 0; start < len(msgs); start += 9 {
		chunk := msgs[start:min(start+9, len(msgs))]
		if n, err := Publish(ctx, api, topic, chunk, 0); err != nil || n != len(chunk) {
			t.Fatalf("publish = %d, %v", n, err)
		}
	}
	if n, err := Publish(ctx, api, topic, msgs[:1], 0); err != nil || n != 1 {
		t.Fatalf("publish a duplicate = %d, %v", n, err)
	}
	got := drain(t, e, fq.URL, 25)
	if extra := drainFor(t, e, fq.URL, 1, time.Second); len(got) != 25 || len(extra) != 0 {
		t.Fatalf("received %d messages, then %d; want 25 (the duplicate dropped)", len(got), len(extra))
	}
	last := map[string]int{}
	for _, m := range got {
		var b struct{ N int }
		if err := json.Unmarshal([]byte(m.body), &b); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint("g", b.N%3); m.group != want || m.dedup != fmt.Sprint("d", b.N) {
			t.Errorf("message %d: group %q dedup %q", b.N, m.group, m.dedup)
		}
		if prev, ok := last[m.group]; ok && prev > b.N {
			t.Errorf("group %s: %d after %d", m.group, b.N, prev)
		}
		last[m.group] = b.N
	}
}

// TestPublishChunks publishes 25 messages in one call, three PublishBatch calls: all
// arrive.
func TestPublishChunks(t *testing.T) {
	e, api := client(t)
	ctx := context.Background()
	topic, err := CreateTopic(ctx, api, awstest.UniqueName("many"), TopicOptions{})
	if err != nil {
		t.Fatal(err)
	}
	q := e.CreateQueue(t, "many", nil)
	if _, err := SubscribeQueue(ctx, api, topic, q.ARN, true, 0); err != nil {
		t.Fatal(err)
	}
	var msgs []Message
	for i := range 25 {
		msgs = append(msgs, Message{Body: fmt.Sprint(i), GroupID: "tenant-a"})
	}
	if n, err := Publish(ctx, api, topic, msgs, 0); err != nil || n != 25 {
		t.Fatalf("publish = %d, %v", n, err)
	}
	got := drain(t, e, q.URL, 25)
	seen := map[string]bool{}
	for _, m := range got {
		seen[m.body] = true
	}
	if len(got) != 25 || len(seen) != 25 {
		t.Errorf("received %d messages, %d distinct; want 25", len(got), len(seen))
	}
}

// TestPublishRefusedEntry: a FIFO topic refuses a message without a group id; Publish
// says which and does not count it.
func TestPublishRefusedEntry(t *testing.T) {
	_, api := client(t)
	ctx := context.Background()
	topic, err := CreateTopic(ctx, api, awstest.UniqueName("ordered")+".fifo", TopicOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := Publish(ctx, api, topic, []Message{{Body: "a", GroupID: "g", DeduplicationID: "1"}, {Body: "b", DeduplicationID: "2"}}, 0)
	if err == nil || n > 1 {
		t.Fatalf("publish without a group id = %d, %v", n, err)
	}
	if !slices.ContainsFunc([]string{"message 1", "publish 2 messages"}, func(s string) bool { return strings.Contains(err.Error(), s) }) {
		t.Errorf("error does not name the message: %v", err)
	}
}

func createFIFOQueue(t *testing.T, e *awstest.Emulators) awstest.Queue {
	t.Helper()
	c := e.SQSClient()
	name := awstest.UniqueName("ordered") + ".fifo"
	out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: out.QueueUrl}) })
	return awstest.Queue{Name: name, URL: aws.ToString(out.QueueUrl), ARN: a.Attributes["QueueArn"]}
}
