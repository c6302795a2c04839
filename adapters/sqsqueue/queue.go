package sqsqueue

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/adapters/internal/batch"
	"eventproc/limits"
	"eventproc/worker"
)

// Queue is one SQS queue as a worker.Source. Safe for concurrent use.
type Queue struct {
	api  API
	url  string
	opts Options
}

// Options configures a Queue. The zero value gives the defaults.
type Options struct {
	// WaitTime is the long-poll wait of Receive, in whole seconds up to 20 (20 s when
	// zero; negative: short polling).
	WaitTime time.Duration
	// CallTimeout bounds every call; a receive gets WaitTime on top (10 s when zero).
	CallTimeout time.Duration
	// MessageAttributeNames gives the message attributes Receive asks for (["All"]:
	// every one); called on every receive, so that it can follow a change of the rules
	// that read them. Nil, or nil returned: none.
	MessageAttributeNames func() []string
}

const (
	maxBatch          = 10
	defaultWait       = 20 * time.Second
	defaultCallTimout = 10 * time.Second
)

var _ worker.Source = (*Queue)(nil)

// New returns the queue at url (a queue URL, as GetQueueUrl returns; see ResolveURL).
func New(api API, url string, opts Options) *Queue {
	switch {
	case opts.WaitTime == 0:
		opts.WaitTime = defaultWait
	case opts.WaitTime < 0:
		opts.WaitTime = 0
	}
	opts.WaitTime = min(opts.WaitTime, defaultWait).Truncate(time.Second)
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = defaultCallTimout
	}
	return &Queue{api: api, url: url, opts: opts}
}

// Name returns the queue's URL.
func (q *Queue) Name() string { return q.url }

// ResolveURL returns the URL of a queue given by URL (returned as is) or by name.
func ResolveURL(ctx context.Context, api API, nameOrURL string, timeout time.Duration) (string, error) {
	if strings.HasPrefix(nameOrURL, "https://") || strings.HasPrefix(nameOrURL, "http://") {
		return nameOrURL, nil
	}
	if timeout <= 0 {
		timeout = defaultCallTimout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := api.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String(nameOrURL)})
	if err != nil {
		return "", classify(fmt.Errorf("queue url of %s: %w", nameOrURL, err))
	}
	return aws.ToString(out.QueueUrl), nil
}

// systemAttributes are the system attributes Receive asks for: those worker.Message
// carries.
var systemAttributes = []types.MessageSystemAttributeName{
	types.MessageSystemAttributeNameApproximateReceiveCount,
	types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp,
	types.MessageSystemAttributeNameSentTimestamp,
	types.MessageSystemAttributeNameMessageGroupId,
	types.MessageSystemAttributeNameSequenceNumber,
	types.MessageSystemAttributeNameMessageDeduplicationId,
}

// Receive long-polls for up to n (clamped to 1..10) messages, with their receive
// count, first-receive and sent times, their FIFO group, sequence number and
// deduplication id, and the message attributes Options.MessageAttributeNames names.
func (q *Queue) Receive(ctx context.Context, n int) ([]worker.Message, error) {
	n = min(max(n, 1), maxBatch)
	var names []string
	if q.opts.MessageAttributeNames != nil {
		names = q.opts.MessageAttributeNames()
	}
	cctx, cancel := context.WithTimeout(ctx, q.opts.WaitTime+q.opts.CallTimeout)
	defer cancel()
	out, err := q.api.ReceiveMessage(cctx, &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(q.url),
		MaxNumberOfMessages:         int32(n),
		WaitTimeSeconds:             int32(q.opts.WaitTime / time.Second),
		MessageSystemAttributeNames: systemAttributes,
		MessageAttributeNames:       names,
	})
	if err != nil {
		return nil, classify(fmt.Errorf("receive from %s: %w", q.url, err))
	}
	msgs := make([]worker.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		wm := message(m)
		wm.AttributeNames, wm.AttributeNamesKnown = names, q.opts.MessageAttributeNames != nil
		msgs = append(msgs, wm)
	}
	return msgs, nil
}

// message converts a received SQS message.
func message(m types.Message) worker.Message {
	out := worker.Message{
		ID:            aws.ToString(m.MessageId),
		ReceiptHandle: aws.ToString(m.ReceiptHandle),
		Body:          aws.ToString(m.Body),
		ReceiveCount:  1,
	}
	if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		out.ReceiveCount = n
	}
	out.FirstReceived = millis(m.Attributes[string(types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp)])
	out.SentAt = millis(m.Attributes[string(types.MessageSystemAttributeNameSentTimestamp)])
	out.GroupID = m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)]
	out.SequenceNumber = m.Attributes[string(types.MessageSystemAttributeNameSequenceNumber)]
	out.DeduplicationID = m.Attributes[string(types.MessageSystemAttributeNameMessageDeduplicationId)]
	out.Attributes = attributeValues(m.MessageAttributes)
	return out
}

// attributeValues gives message attributes as text: String and Number ones (custom
// types too: "String.x") as sent, Binary ones base64; nil when there are none.
func attributeValues(attrs map[string]types.MessageAttributeValue) map[string]string {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]string, len(attrs))
	for k, v := range attrs {
		switch {
		case strings.HasPrefix(aws.ToString(v.DataType), "Binary"):
			out[k] = base64.StdEncoding.EncodeToString(v.BinaryValue)
		case v.StringValue != nil:
			out[k] = *v.StringValue
		}
	}
	return out
}

func millis(s string) time.Time {
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// Ack deletes messages with DeleteMessageBatch, ten at a time, and returns those that
// were not deleted with the reasons joined in one error.
func (q *Queue) Ack(ctx context.Context, msgs []worker.Message) ([]worker.Message, error) {
	var failed []worker.Message
	var errs []error
	for start := 0; start < len(msgs); start += maxBatch {
		chunk := msgs[start:min(start+maxBatch, len(msgs))]
		entries := make([]types.DeleteMessageBatchRequestEntry, len(chunk))
		for i, m := range chunk {
			entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(m.ReceiptHandle)}
		}
		cctx, cancel := context.WithTimeout(ctx, q.opts.CallTimeout)
		out, err := q.api.DeleteMessageBatch(cctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		cancel()
		if err != nil {
			failed = append(failed, chunk...)
			errs = append(errs, classify(fmt.Errorf("delete %d messages from %s: %w", len(chunk), q.url, err)))
			continue
		}
		for _, f := range out.Failed {
			i, ok := entryIndex(f.Id, len(chunk))
			if !ok {
				continue
			}
			failed = append(failed, chunk[i])
			errs = append(errs, fmt.Errorf("delete message %s: %w", chunk[i].ID, entryError(f)))
		}
	}
	return failed, errors.Join(errs...)
}

// SetVisibility changes visibility timeouts with ChangeMessageVisibilityBatch, ten at a
// time; delays are rounded up to whole seconds and clamped to [0, 12 h]. It returns the
// changes that failed with the reasons joined in one error.
func (q *Queue) SetVisibility(ctx context.Context, changes []worker.Visibility) ([]worker.Visibility, error) {
	var failed []worker.Visibility
	var errs []error
	for start := 0; start < len(changes); start += maxBatch {
		chunk := changes[start:min(start+maxBatch, len(changes))]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, c := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{
				Id:                aws.String(strconv.Itoa(i)),
				ReceiptHandle:     aws.String(c.Message.ReceiptHandle),
				VisibilityTimeout: VisibilitySeconds(c.Delay),
			}
		}
		cctx, cancel := context.WithTimeout(ctx, q.opts.CallTimeout)
		out, err := q.api.ChangeMessageVisibilityBatch(cctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(q.url), Entries: entries})
		cancel()
		if err != nil {
			failed = append(failed, chunk...)
			errs = append(errs, classify(fmt.Errorf("change visibility of %d messages in %s: %w", len(chunk), q.url, err)))
			continue
		}
		for _, f := range out.Failed {
			i, ok := entryIndex(f.Id, len(chunk))
			if !ok {
				continue
			}
			failed = append(failed, chunk[i])
			errs = append(errs, fmt.Errorf("change visibility of message %s: %w", chunk[i].Message.ID, entryError(f)))
		}
	}
	return failed, errors.Join(errs...)
}

// VisibilitySeconds converts a delay to SQS's whole seconds: rounded up, within
// [0, 43200].
func VisibilitySeconds(d time.Duration) int32 {
	d = min(max(d, 0), limits.Visibility)
	return int32(math.Ceil(d.Seconds()))
}

func entryIndex(id *string, n int) (int, bool) {
	i, err := strconv.Atoi(aws.ToString(id))
	return i, err == nil && i >= 0 && i < n
}

// EntryError is the failure of one entry of a batch call.
type EntryError = batch.EntryError

// entryError classifies a failed batch entry: a sender fault (an invalid receipt handle,
// a message no longer in flight) is neither retryable nor fatal; anything else is
// retryable.
func entryError(f types.BatchResultErrorEntry) error {
	err := &EntryError{Code: aws.ToString(f.Code), Message: aws.ToString(f.Message), SenderFault: f.SenderFault}
	return err.Classified()
}
