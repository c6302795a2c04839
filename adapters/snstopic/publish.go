package snstopic

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"

	"eventproc/adapters/internal/batch"
)

// Message is one message to publish.
type Message struct {
	Body string
	// Attributes are published as String message attributes: SQS message attributes
	// with raw delivery, the notification's MessageAttributes without.
	Attributes map[string]string
	// GroupID is the MessageGroupId: required by a FIFO topic; a standard topic passes
	// it on to SQS standard queues (fair queues). Empty: none.
	GroupID string
	// DeduplicationID is the MessageDeduplicationId of a FIFO topic (empty: none, which
	// a FIFO topic accepts only with content-based deduplication).
	DeduplicationID string
}

// maxBatch is the most entries one PublishBatch call takes.
const maxBatch = 10

// Publish publishes msgs to the topic topicARN, ten per PublishBatch call, retrying the
// entries that failed for a reason other than the sender's (throttling, a server fault)
// a few times; timeout bounds each call (10 s when zero). It returns how many were
// published and, when some were not, why: a refused entry stops it, reported as an
// *EntryError.
func Publish(ctx context.Context, api API, topicARN string, msgs []Message, timeout time.Duration) (int, error) {
	published := 0
	for start := 0; start < len(msgs); start += maxBatch {
		chunk := msgs[start:min(start+maxBatch, len(msgs))]
		n, err := batch.Send(ctx, len(chunk), func(ctx context.Context, pending []int) (int, []batch.Failure, error) {
			return publishOnce(ctx, api, topicARN, chunk, start, pending, timeout)
		})
		published += n
		if err != nil {
			return published, err
		}
	}
	return published, nil
}

// publishOnce publishes the pending entries of chunk, whose first message is message
// offset of the caller's, in one PublishBatch call.
func publishOnce(ctx context.Context, api API, topicARN string, chunk []Message, offset int, pending []int, timeout time.Duration) (int, []batch.Failure, error) {
	entries := make([]types.PublishBatchRequestEntry, len(pending))
	for j, i := range pending {
		entries[j] = publishEntry(i, chunk[i])
	}
	var out *sns.PublishBatchOutput
	err := call(ctx, timeout, func(ctx context.Context) error {
		var err error
		out, err = api.PublishBatch(ctx, &sns.PublishBatchInput{TopicArn: aws.String(topicARN), PublishBatchRequestEntries: entries})
		return err
	})
	if err != nil {
		return 0, nil, classify(fmt.Errorf("publish %d messages to %s: %w", len(pending), topicARN, err))
	}
	var failed []batch.Failure
	for _, f := range out.Failed {
		i, err := strconv.Atoi(aws.ToString(f.Id))
		if err != nil || i < 0 || i >= len(chunk) {
			continue
		}
		e := &EntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault}
		failed = append(failed, batch.Failure{Index: i, Err: fmt.Errorf("publish message %d: %w", offset+i, e.Classified()), SenderFault: f.SenderFault})
	}
	return len(out.Successful), failed, nil
}

// publishEntry is message i of a chunk as an entry of PublishBatch.
func publishEntry(i int, m Message) types.PublishBatchRequestEntry {
	e := types.PublishBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), Message: aws.String(m.Body)}
	if m.GroupID != "" {
		e.MessageGroupId = aws.String(m.GroupID)
	}
	if m.DeduplicationID != "" {
		e.MessageDeduplicationId = aws.String(m.DeduplicationID)
	}
	if len(m.Attributes) > 0 {
		e.MessageAttributes = make(map[string]types.MessageAttributeValue, len(m.Attributes))
		for k, v := range m.Attributes {
			e.MessageAttributes[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	return e
}
