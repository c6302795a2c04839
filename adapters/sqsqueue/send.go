package sqsqueue

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/internal/batch"
)

// Outgoing is one message to send.
type Outgoing struct {
	Body string
	// Attributes are sent as String message attributes.
	Attributes map[string]string
	// GroupID is the MessageGroupId: required by a FIFO queue; on a standard queue it
	// makes SQS share the consumers fairly among the groups (a fair queue). Empty: none.
	GroupID string
	// DeduplicationID is the MessageDeduplicationId of a FIFO queue (empty: none, which
	// a FIFO queue accepts only with content-based deduplication).
	DeduplicationID string
}

// SendBatch sends up to ten bodies to the queue at url in one SendMessageBatch call, as
// SendMessages does.
func SendBatch(ctx context.Context, api API, url string, bodies []string, timeout time.Duration) (int, error) {
	msgs := make([]Outgoing, len(bodies))
	for i, b := range bodies {
		msgs[i] = Outgoing{Body: b}
	}
	return SendMessages(ctx, api, url, msgs, timeout)
}

// SendMessages sends up to ten messages to the queue at url in one SendMessageBatch call,
// retrying the entries that failed for a reason other than the sender's (throttling, a
// server fault) a few times. It returns how many were sent and, when some were not, why.
func SendMessages(ctx context.Context, api API, url string, msgs []Outgoing, timeout time.Duration) (int, error) {
	if len(msgs) > maxBatch {
		return 0, fmt.Errorf("send batch: %d messages, at most %d", len(msgs), maxBatch)
	}
	if timeout <= 0 {
		timeout = defaultCallTimout
	}
	return batch.Send(ctx, len(msgs), func(ctx context.Context, pending []int) (int, []batch.Failure, error) {
		entries := make([]types.SendMessageBatchRequestEntry, len(pending))
		for j, i := range pending {
			entries[j] = sendEntry(i, msgs[i])
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		out, err := api.SendMessageBatch(cctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
		cancel()
		if err != nil {
			return 0, nil, classify(fmt.Errorf("send %d messages to %s: %w", len(pending), url, err))
		}
		var failed []batch.Failure
		for _, f := range out.Failed {
			if i, ok := entryIndex(f.Id, len(msgs)); ok {
				failed = append(failed, batch.Failure{Index: i, Err: fmt.Errorf("send message %d: %w", i, entryError(f)), SenderFault: f.SenderFault})
			}
		}
		return len(out.Successful), failed, nil
	})
}

// sendEntry is message i as an entry of SendMessageBatch.
func sendEntry(i int, m Outgoing) types.SendMessageBatchRequestEntry {
	e := types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: aws.String(m.Body)}
	if m.GroupID != "" {
		e.MessageGroupId = aws.String(m.GroupID)
	}
	if m.DeduplicationID != "" {
		e.MessageDeduplicationId = aws.String(m.DeduplicationID)
	}
	if len(m.Attributes) > 0 {
		e.MessageAttributes = make(map[string]types.MessageAttributeValue, len(m.Attributes))
		for k, v := range m.Attributes {
			e.MessageAttributes[k] = stringAttr(v)
		}
	}
	return e
}
