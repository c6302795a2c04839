package sqsqueue

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/awstest"
)

// TestSendMessagesFIFO sends to a provisioned FIFO queue with group and deduplication
// ids and attributes: each message arrives with them, once.
func TestSendMessagesFIFO(t *testing.T) {
	e := awstest.Shared(t)
	c := e.SQSClient()
	ctx := context.Background()
	p, err := Provision(ctx, c, awstest.UniqueName("sendfifo")+".fifo", ProvisionOptions{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []Outgoing
	for i := range 4 {
		msgs = append(msgs, Outgoing{Body: fmt.Sprint(i), GroupID: fmt.Sprint("tenant-", i%2), DeduplicationID: fmt.Sprint("e", i), Attributes: map[string]string{"n": fmt.Sprint(i)}})
	}
	msgs = append(msgs, msgs[0]) // a duplicate: dropped
	if n, err := SendMessages(ctx, c, p.URL, msgs, 0); err != nil || n != 5 {
		t.Fatalf("send = %d, %v", n, err)
	}
	seen := map[string]bool{}
	for range 10 {
		out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(p.URL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1,
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 && len(seen) == 4 {
			break
		}
		for _, m := range out.Messages {
			b := aws.ToString(m.Body)
			var i int
			fmt.Sscan(b, &i)
			if seen[b] || m.Attributes["MessageGroupId"] != fmt.Sprint("tenant-", i%2) || m.Attributes["MessageDeduplicationId"] != "e"+b ||
				aws.ToString(m.MessageAttributes["n"].StringValue) != b {
				t.Errorf("message %s: seen %v, attributes %v, %v", b, seen[b], m.Attributes, m.MessageAttributes)
			}
			seen[b] = true
			c.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(p.URL), ReceiptHandle: m.ReceiptHandle})
		}
	}
	if len(seen) != 4 {
		t.Errorf("received %v, want 0 to 3 once", seen)
	}
}

// TestAllowTopic adds a statement per topic to the queue's policy, once, and keeps
// the other statements.
func TestAllowTopic(t *testing.T) {
	e := awstest.Shared(t)
	c := e.SQSClient()
	ctx := context.Background()
	q := e.CreateQueue(t, "allow", map[string]string{"Policy": `{"Version":"2012-10-17","Statement":{"Sid":"theirs","Effect":"Deny","Principal":"*","Action":"sqs:DeleteQueue","Resource":"*"}}`})
	for _, topic := range []string{"arn:aws:sns:us-east-1:000000000000:a", "arn:aws:sns:us-east-1:000000000000:b", "arn:aws:sns:us-east-1:000000000000:a"} {
		if err := AllowTopic(ctx, c, q.URL, q.ARN, topic, 0); err != nil {
			t.Fatal(err)
		}
	}
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(q.URL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNamePolicy}})
	if err != nil {
		t.Fatal(err)
	}
	var policy struct {
		Statement []struct {
			Sid       string
			Resource  string
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal([]byte(out.Attributes["Policy"]), &policy); err != nil {
		t.Fatalf("policy %s: %v", out.Attributes["Policy"], err)
	}
	var sources []string
	for _, s := range policy.Statement {
		if s.Sid != "theirs" {
			sources = append(sources, s.Condition["ArnEquals"]["aws:SourceArn"])
			if s.Resource != q.ARN {
				t.Errorf("statement %s: resource %s", s.Sid, s.Resource)
			}
		}
	}
	if len(policy.Statement) != 3 || fmt.Sprint(sources) != "[arn:aws:sns:us-east-1:000000000000:b arn:aws:sns:us-east-1:000000000000:a]" {
		t.Errorf("policy = %s", out.Attributes["Policy"])
	}
}

// entriesAPI records the entries of SendMessageBatch calls.
type entriesAPI struct {
	API
	entries []types.SendMessageBatchRequestEntry
}

func (f *entriesAPI) SendMessageBatch(ctx context.Context, in *sqs.SendMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.SendMessageBatchOutput, error) {
	f.entries = append(f.entries, in.Entries...)
	out := &sqs.SendMessageBatchOutput{}
	for _, e := range in.Entries {
		out.Successful = append(out.Successful, types.SendMessageBatchResultEntry{Id: e.Id})
	}
	return out, nil
}

// TestSendMessagesEntries: a message's group id, deduplication id and attributes are
// sent only when set.
func TestSendMessagesEntries(t *testing.T) {
	f := &entriesAPI{}
	msgs := []Outgoing{{Body: "a", GroupID: "tenant-1"}, {Body: "b", DeduplicationID: "e-2", Attributes: map[string]string{"k": "v"}}, {Body: "c"}}
	if n, err := SendMessages(context.Background(), f, "url", msgs, 0); err != nil || n != 3 {
		t.Fatalf("send = %d, %v", n, err)
	}
	got := fmt.Sprint(len(f.entries))
	for _, e := range f.entries {
		got += fmt.Sprintf(" %s:%s/%s/%d", aws.ToString(e.MessageBody), aws.ToString(e.MessageGroupId), aws.ToString(e.MessageDeduplicationId), len(e.MessageAttributes))
	}
	if want := "3 a:tenant-1//0 b:/e-2/1 c://0"; got != want || (f.entries[0].MessageGroupId == nil) || f.entries[2].MessageGroupId != nil {
		t.Errorf("entries %s, want %s", got, want)
	}
	if v := f.entries[1].MessageAttributes["k"]; aws.ToString(v.DataType) != "String" || aws.ToString(v.StringValue) != "v" {
		t.Errorf("attribute k = %+v", v)
	}
}
