package sqsqueue

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/worker"
)

// fakeAPI records batch calls and fails the entries whose receipt handle starts with "bad".
type fakeAPI struct {
	API
	deletes [][]string
	changes [][]int32
}

func (f *fakeAPI) DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error) {
	var hs []string
	out := &sqs.DeleteMessageBatchOutput{}
	for _, e := range in.Entries {
		hs = append(hs, *e.ReceiptHandle)
		if strings.HasPrefix(*e.ReceiptHandle, "bad") {
			out.Failed = append(out.Failed, types.BatchResultErrorEntry{Id: e.Id, Code: aws.String("ReceiptHandleIsInvalid"), SenderFault: true})
		}
	}
	f.deletes = append(f.deletes, hs)
	return out, nil
}

func (f *fakeAPI) ChangeMessageVisibilityBatch(ctx context.Context, in *sqs.ChangeMessageVisibilityBatchInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityBatchOutput, error) {
	var vs []int32
	for _, e := range in.Entries {
		vs = append(vs, e.VisibilityTimeout)
	}
	f.changes = append(f.changes, vs)
	return &sqs.ChangeMessageVisibilityBatchOutput{}, nil
}

func TestAckChunksAndReportsPartialFailure(t *testing.T) {
	f := &fakeAPI{}
	q := New(f, "url", Options{})
	var msgs []worker.Message
	for i := range 23 {
		h := fmt.Sprint("rh", i)
		if i == 4 || i == 17 {
			h = "bad" + h
		}
		msgs = append(msgs, worker.Message{ID: strconv.Itoa(i), ReceiptHandle: h})
	}
	failed, err := q.Ack(context.Background(), msgs)
	if len(f.deletes) != 3 || len(f.deletes[0]) != 10 || len(f.deletes[2]) != 3 {
		t.Errorf("batches = %v", f.deletes)
	}
	if len(failed) != 2 || failed[0].ID != "4" || failed[1].ID != "17" || err == nil {
		t.Errorf("failed = %v, err %v", failed, err)
	}
	if err != nil && !strings.Contains(err.Error(), "ReceiptHandleIsInvalid") {
		t.Errorf("err = %v", err)
	}
}

func TestSetVisibilityClampsAndRoundsUp(t *testing.T) {
	f := &fakeAPI{}
	q := New(f, "url", Options{})
	delays := []time.Duration{-time.Second, 0, 1500 * time.Millisecond, 30 * time.Second, 13 * time.Hour}
	var changes []worker.Visibility
	for _, d := range delays {
		changes = append(changes, worker.Visibility{Delay: d})
	}
	if _, err := q.SetVisibility(context.Background(), changes); err != nil {
		t.Fatal(err)
	}
	want := []int32{0, 0, 2, 30, 43200}
	if fmt.Sprint(f.changes) != fmt.Sprint([][]int32{want}) {
		t.Errorf("visibility timeouts = %v, want %v", f.changes, want)
	}
}

func TestMessageConversion(t *testing.T) {
	m := message(types.Message{
		MessageId: aws.String("id"), ReceiptHandle: aws.String("rh"), Body: aws.String("b"),
		Attributes: map[string]string{"ApproximateReceiveCount": "3", "ApproximateFirstReceiveTimestamp": "1700000000123", "SentTimestamp": "1700000000000"},
		MessageAttributes: map[string]types.MessageAttributeValue{
			"s": {DataType: aws.String("String"), StringValue: aws.String("v")},
			"n": {DataType: aws.String("Number"), StringValue: aws.String("5")},
			"b": {DataType: aws.String("Binary"), BinaryValue: []byte{1}},
		},
	})
	if m.ID != "id" || m.ReceiptHandle != "rh" || m.Body != "b" || m.ReceiveCount != 3 {
		t.Errorf("message = %+v", m)
	}
	if !m.FirstReceived.Equal(time.UnixMilli(1700000000123)) || !m.SentAt.Equal(time.UnixMilli(1700000000000)) {
		t.Errorf("times = %v, %v", m.FirstReceived, m.SentAt)
	}
	if len(m.Attributes) != 3 || m.Attributes["s"] != "v" || m.Attributes["n"] != "5" || m.Attributes["b"] != "AQ==" {
		t.Errorf("attributes = %v", m.Attributes)
	}
	if m.GroupID != "" || m.SequenceNumber != "" || m.DeduplicationID != "" {
		t.Errorf("FIFO fields on a standard message: %+v", m)
	}
	f := message(types.Message{MessageId: aws.String("id"), Attributes: map[string]string{
		"MessageGroupId": "tenant-7", "SequenceNumber": "18849496460467696128", "MessageDeduplicationId": "d-1"}})
	if f.GroupID != "tenant-7" || f.SequenceNumber != "18849496460467696128" || f.DeduplicationID != "d-1" || f.ReceiveCount != 1 {
		t.Errorf("FIFO message = %+v", f)
	}
}

// receiveAPI records the ReceiveMessage requests.
type receiveAPI struct {
	API
	got []*sqs.ReceiveMessageInput
}

func (f *receiveAPI) ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	f.got = append(f.got, in)
	return &sqs.ReceiveMessageOutput{}, nil
}

// TestReceiveAsksForWhatIsUsed: Receive asks for the system attributes a message
// carries and for the message attributes MessageAttributeNames gives at each call
// (none without it), so that a reload of the rules changes them.
func TestReceiveAsksForWhatIsUsed(t *testing.T) {
	f := &receiveAPI{}
	names := []string{"tenant"}
	q := New(f, "url", Options{WaitTime: -1, MessageAttributeNames: func() []string { return names }})
	bare := New(f, "url", Options{WaitTime: -1})
	for _, src := range []*Queue{q, bare} {
		if _, err := src.Receive(context.Background(), 10); err != nil {
			t.Fatal(err)
		}
	}
	names = []string{"All"}
	if _, err := q.Receive(context.Background(), 10); err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, in := range f.got {
		got = append(got, in.MessageAttributeNames)
	}
	if fmt.Sprint(got) != fmt.Sprint([][]string{{"tenant"}, nil, {"All"}}) {
		t.Errorf("message attribute names asked = %q", got)
	}
	var system []string
	for _, a := range f.got[0].MessageSystemAttributeNames {
		system = append(system, string(a))
	}
	want := []string{"ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp", "SentTimestamp", "MessageGroupId",
		"SequenceNumber", "MessageDeduplicationId"}
	if fmt.Sprint(system) != fmt.Sprint(want) {
		t.Errorf("system attributes asked = %v, want %v", system, want)
	}
}

// TestDeadLetterAttributesKeepTheTelling: past ten attributes, the outcome, the error
// and the others by priority are sent, the least telling in more_attributes.
func TestDeadLetterAttributesKeepTheTelling(t *testing.T) {
	attrs := map[string]string{}
	for _, n := range attrPriority[:len(attrPriority)-1] {
		attrs[n] = "v"
	}
	got := messageAttributes(attrs)
	if len(got) != maxAttrs {
		t.Fatalf("%d attributes, want %d", len(got), maxAttrs)
	}
	for _, n := range attrPriority[:maxAttrs-1] {
		if _, ok := got[n]; !ok {
			t.Errorf("%s not sent as an attribute (sent: %v)", n, got)
		}
	}
	more := aws.ToString(got[moreAttrs].StringValue)
	for _, n := range attrPriority[maxAttrs-1 : len(attrPriority)-1] {
		if !strings.Contains(more, `"`+n+`"`) {
			t.Errorf("%s not in more_attributes %s", n, more)
		}
	}
}

func TestMessageAttributesLimits(t *testing.T) {
	attrs := map[string]string{"empty": "", "long": strings.Repeat("é", maxAttrValue)}
	for i := range 12 {
		attrs[fmt.Sprintf("a%02d", i)] = "v"
	}
	got := messageAttributes(attrs)
	if len(got) != maxAttrs {
		t.Fatalf("%d attributes, want %d", len(got), maxAttrs)
	}
	if _, ok := got["empty"]; ok {
		t.Errorf("empty attribute sent")
	}
	more := aws.ToString(got[moreAttrs].StringValue)
	if !strings.Contains(more, `"long"`) || !strings.Contains(more, `"a11"`) {
		t.Errorf("more_attributes = %.80s", more)
	}
	if messageAttributes(nil) != nil {
		t.Errorf("nil attributes gave some")
	}
	v := aws.ToString(stringAttr(strings.Repeat("é", maxAttrValue)).StringValue)
	if len(v) > maxAttrValue || !strings.HasSuffix(v, "é") {
		t.Errorf("cut value: %d bytes, ends %q", len(v), v[len(v)-2:])
	}
}

func TestAttributeNamesAndValuesAreMadeValid(t *testing.T) {
	got := messageAttributes(map[string]string{"rule position": "a\x00b\xffc", "AWS.trace": "x", "ok.name-1": "é\n"})
	for name, want := range map[string]string{"rule_position": "a\uFFFDb\uFFFDc", "x_AWS.trace": "x", "ok.name-1": "é\n"} {
		if v := aws.ToString(got[name].StringValue); v != want {
			t.Errorf("%s = %q, want %q (all: %v)", name, v, want, got)
		}
	}
}

// TestRedriveFIFOFilterKeepsGroupOrder: on a FIFO target, a message the filter (or the
// limit) leaves keeps the later messages of its group, in the same batch, behind it;
// other groups move on.
func TestRedriveFIFOFilterKeepsGroupOrder(t *testing.T) {
	msg := func(id, group, body string) types.Message {
		return types.Message{MessageId: aws.String(id), ReceiptHandle: aws.String("h-" + id), Body: aws.String(body),
			Attributes: map[string]string{string(types.MessageSystemAttributeNameMessageGroupId): group}}
	}
	r := &redriver{fifo: true, opts: RedriveOptions{Match: func(m DeadLetterMessage) bool { return m.Body != "keep" }}}
	move := r.sift([]types.Message{
		msg("a1", "a", "move"), msg("a2", "a", "keep"), msg("a3", "a", "move"),
		msg("b1", "b", "move"), msg("b2", "b", "move"),
	})
	var ids []string
	for _, m := range move {
		ids = append(ids, aws.ToString(m.MessageId))
	}
	if got, want := strings.Join(ids, " "), "a1 b1 b2"; got != want {
		t.Errorf("moved %s, want %s (a3 waits behind a2, which the filter leaves)", got, want)
	}
	if got, want := strings.Join(r.held, " "), "h-a2 h-a3"; got != want {
		t.Errorf("held %s, want %s", got, want)
	}
}

// TestRedrivenAttributesGiveBackTheReceivedOnes: a redriven message loses the worker's
// dead-letter attributes and gets back the attributes it was received with (carried in
// message_attributes, or inside more_attributes), without overriding its own.
func TestRedrivenAttributesGiveBackTheReceivedOnes(t *testing.T) {
	for name, attrs := range map[string]map[string]types.MessageAttributeValue{
		"direct":                 {"outcome": stringAttr("exhausted"), ProducerAttributes: stringAttr(`{"tier":"gold","region":"eu"}`), "region": stringAttr("us")},
		"inside more_attributes": {"outcome": stringAttr("exhausted"), moreAttrs: stringAttr(`{"message_attributes":"{\"tier\":\"gold\",\"region\":\"eu\"}"}`), "region": stringAttr("us")},
	} {
		got := map[string]string{}
		for k, v := range redrivenAttributes(types.Message{MessageAttributes: attrs}) {
			got[k] = aws.ToString(v.StringValue)
		}
		want := map[string]string{"tier": "gold", "region": "us", RedriveCountAttribute: "1"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: redriven attributes %v, want %v", name, got, want)
		}
	}
}
