package sqsqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// DeadLetterAttributes are the message attributes the worker adds when it dead-letters a
// message (see worker.deadLetter and DeadLetter.Send). Redrive strips them.
var DeadLetterAttributes = []string{
	"outcome", "error", "attempts", "event_type", "schema_version", "event_id",
	"first_failure", "last_failure", "rule", "rule_position",
	"topic_arn", "message_group_id", "sequence_number", "message_sent_at", ProducerAttributes, moreAttrs,
}

// ProducerAttributes is the dead-letter attribute that carries, as one JSON object of
// strings, the message attributes the worker received with the message (those its
// rules read); Redrive gives them back to the moved message.
const ProducerAttributes = "message_attributes"

// RedriveCountAttribute is the message attribute Redrive sets on a message it moves: how
// many times it has been moved back from a dead-letter queue (1 the first time).
const RedriveCountAttribute = "redrive_count"

// DeadLetterMessage is a message of a dead-letter queue as Redrive shows it.
type DeadLetterMessage struct {
	ID         string
	Body       string
	Attributes map[string]string // the String and Number message attributes
}

// RedriveOptions configures Redrive. The zero value moves every message.
type RedriveOptions struct {
	// Match selects the messages to move; nil selects all. The others stay in the
	// dead-letter queue, untouched (they are made visible again at the end).
	Match func(DeadLetterMessage) bool
	// Limit stops after that many matching messages (0: no limit).
	Limit int
	// DryRun moves nothing: the matching messages are only reported (OnMessage) and made
	// visible again at the end.
	DryRun bool
	// OnMessage is called for every matching message, before it is moved.
	OnMessage func(DeadLetterMessage)
	// OnProgress is called after every batch with the counts so far.
	OnProgress func(RedriveResult)
	// Hold is the visibility timeout of the received messages while Redrive works on
	// them (2 min when zero): a message is received once per run.
	Hold time.Duration
	// CallTimeout bounds every call (10 s when zero).
	CallTimeout time.Duration
}

// RedriveResult counts what Redrive did.
type RedriveResult struct {
	Received int // messages received from the dead-letter queue
	Matched  int // of them, those that Match selected (within Limit)
	Moved    int // sent to the target and deleted from the dead-letter queue
	Failed   int // matched but not moved: still in the dead-letter queue
}

// Redrive moves messages from the dead-letter queue at dlq to the queue at target, until
// the dead-letter queue has nothing more to give (two empty receives in a row), Limit is
// reached or ctx ends.
//
// Moving is at least once: a message is deleted from the dead-letter queue only after
// SendMessage(Batch) to the target succeeded for it, so a failure between the two leaves
// it in both queues (the worker's writes are idempotent), never in neither. A moved
// message keeps its body and its producer's attributes; the dead-letter attributes
// (DeadLetterAttributes) are dropped and redrive_count is set to one more than before.
//
// A FIFO target gets each message in the group it had in the dead-letter queue, with a
// deduplication id derived from its id there (a send repeated by a later run within
// five minutes is stored once). Messages go one at a time, each deleted after it was
// sent, in the order the dead-letter queue gives them (a group's order); a message that
// could not be sent stops its group for the run, so that no later one overtakes it.
func Redrive(ctx context.Context, api API, dlq, target string, opts RedriveOptions) (RedriveResult, error) {
	if opts.Hold <= 0 {
		opts.Hold = 2 * time.Minute
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = defaultCallTimout
	}
	r := &redriver{api: api, dlq: dlq, target: target, opts: opts, fifo: IsFIFO(target)}
	defer func() {
		// Whatever happens, the messages this run held and did not move become visible
		// again now rather than when Hold runs out.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), opts.CallTimeout)
		defer cancel()
		release(cctx, api, dlq, r.held)
	}()
	empty := 0
	for empty < 2 && (opts.Limit <= 0 || r.res.Matched < opts.Limit) {
		if err := ctx.Err(); err != nil {
			return r.res, err
		}
		msgs, err := r.receive(ctx)
		if err != nil {
			return r.res, err
		}
		if len(msgs) == 0 {
			empty++
			continue
		}
		empty = 0
		r.res.Received += len(msgs)
		r.move(ctx, r.sift(msgs))
		if opts.OnProgress != nil {
			opts.OnProgress(r.res)
		}
	}
	return r.res, errors.Join(r.errs...)
}

// redriver is one run of Redrive: what it has counted, the receipt handles it holds
// (to make visible again at the end) and the errors it has met.
type redriver struct {
	api         API
	dlq, target string
	opts        RedriveOptions
	fifo        bool            // the target is a FIFO queue
	stopped     map[string]bool // FIFO groups with a message that could not be sent
	res         RedriveResult
	held        []string
	errs        []error
}

// receive receives the next batch from the dead-letter queue, hidden for Hold.
func (r *redriver) receive(ctx context.Context) ([]types.Message, error) {
	cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout+time.Second)
	defer cancel()
	in := &sqs.ReceiveMessageInput{
		QueueUrl:              aws.String(r.dlq),
		MaxNumberOfMessages:   maxBatch,
		WaitTimeSeconds:       1,
		VisibilityTimeout:     VisibilitySeconds(r.opts.Hold),
		MessageAttributeNames: []string{"All"},
	}
	if r.fifo {
		in.MessageSystemAttributeNames = []types.MessageSystemAttributeName{types.MessageSystemAttributeNameMessageGroupId}
	}
	out, err := r.api.ReceiveMessage(cctx, in)
	if err != nil {
		return nil, classify(fmt.Errorf("receive from %s: %w", r.dlq, err))
	}
	return out.Messages, nil
}

// sift returns the messages of a batch to move: those Match selects within Limit,
// each reported to OnMessage. The others, and all of them in a dry run, are held.
func (r *redriver) sift(msgs []types.Message) []types.Message {
	var move []types.Message
	if r.fifo && r.stopped == nil {
		r.stopped = map[string]bool{}
	}
	for _, m := range msgs {
		dm := deadLetterMessage(m)
		group := fifoGroup(m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)])
		if r.fifo && r.stopped[group] {
			// Behind a message of its group that stays: it stays too, in order.
			r.held = append(r.held, aws.ToString(m.ReceiptHandle))
			continue
		}
		if (r.opts.Match != nil && !r.opts.Match(dm)) || (r.opts.Limit > 0 && r.res.Matched >= r.opts.Limit) {
			r.held = append(r.held, aws.ToString(m.ReceiptHandle))
			if r.fifo {
				r.stopped[group] = true
			}
			continue
		}
		r.res.Matched++
		if r.opts.OnMessage != nil {
			r.opts.OnMessage(dm)
		}
		if r.opts.DryRun {
			r.held = append(r.held, aws.ToString(m.ReceiptHandle))
			continue
		}
		move = append(move, m)
	}
	return move
}

// move sends the messages to the target in batches and deletes from the dead-letter
// queue those that were sent; one that was not sent is held.
func (r *redriver) move(ctx context.Context, move []types.Message) {
	if r.fifo {
		r.moveFIFO(ctx, move)
		return
	}
	for _, chunk := range chunks(move) {
		sent, err := sendMessages(ctx, r.api, r.target, chunk, r.opts.CallTimeout)
		if err != nil {
			r.errs = append(r.errs, err)
		}
		var handles []string
		for i, m := range chunk {
			if sent[i] {
				handles = append(handles, aws.ToString(m.ReceiptHandle))
			} else {
				r.res.Failed++
				r.held = append(r.held, aws.ToString(m.ReceiptHandle))
			}
		}
		deleted, err := deleteHandles(ctx, r.api, r.dlq, handles, r.opts.CallTimeout)
		if err != nil {
			// In the target and still in the dead-letter queue: it is moved again by
			// the next run (a duplicate the worker's idempotent writes absorb).
			r.errs = append(r.errs, err)
		}
		r.res.Moved += deleted
		r.res.Failed += len(handles) - deleted
	}
}

// moveFIFO sends the messages to the FIFO target one at a time, in order, each in its
// group and deleted once sent; after a failure the rest of that group is held.
func (r *redriver) moveFIFO(ctx context.Context, move []types.Message) {
	for _, m := range move {
		group := fifoGroup(m.Attributes[string(types.MessageSystemAttributeNameMessageGroupId)])
		handle := aws.ToString(m.ReceiptHandle)
		if r.stopped[group] {
			r.res.Failed++
			r.held = append(r.held, handle)
			continue
		}
		cctx, cancel := context.WithTimeout(ctx, r.opts.CallTimeout)
		_, err := r.api.SendMessage(cctx, &sqs.SendMessageInput{
			QueueUrl: aws.String(r.target), MessageBody: m.Body, MessageAttributes: redrivenAttributes(m),
			MessageGroupId: aws.String(group), MessageDeduplicationId: aws.String(DeduplicationID("redrive", aws.ToString(m.MessageId))),
		})
		cancel()
		if err != nil {
			r.errs = append(r.errs, classify(fmt.Errorf("send message %s to %s: %w", aws.ToString(m.MessageId), r.target, err)))
			r.stopped[group] = true
			r.res.Failed++
			r.held = append(r.held, handle)
			continue
		}
		deleted, err := deleteHandles(ctx, r.api, r.dlq, []string{handle}, r.opts.CallTimeout)
		if err != nil {
			r.errs = append(r.errs, err)
		}
		r.res.Moved += deleted
		r.res.Failed += 1 - deleted
	}
}

func deadLetterMessage(m types.Message) DeadLetterMessage {
	dm := DeadLetterMessage{ID: aws.ToString(m.MessageId), Body: aws.ToString(m.Body), Attributes: map[string]string{}}
	for k, v := range m.MessageAttributes {
		if v.StringValue != nil && !strings.HasPrefix(aws.ToString(v.DataType), "Binary") {
			dm.Attributes[k] = *v.StringValue
		}
	}
	return dm
}

// redrivenAttributes are the attributes of a message moved back: its own, without the
// dead-letter ones, with redrive_count one more than before.
func redrivenAttributes(m types.Message) map[string]types.MessageAttributeValue {
	attrs := maps.Clone(m.MessageAttributes)
	if attrs == nil {
		attrs = map[string]types.MessageAttributeValue{}
	}
	produced := producerAttributes(attrs)
	for _, k := range DeadLetterAttributes {
		delete(attrs, k)
	}
	for k, v := range produced {
		if _, ok := attrs[k]; !ok && v != "" {
			attrs[k] = stringAttr(v)
		}
	}
	n := 0
	if v, ok := attrs[RedriveCountAttribute]; ok {
		n, _ = strconv.Atoi(aws.ToString(v.StringValue))
	}
	if _, ok := attrs[RedriveCountAttribute]; ok || len(attrs) < maxAttrs {
		attrs[RedriveCountAttribute] = types.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(strconv.Itoa(n + 1))}
	}
	return attrs
}

// producerAttributes reads the attributes a dead letter carries for its message
// (ProducerAttributes, itself or inside more_attributes); nil when none.
func producerAttributes(attrs map[string]types.MessageAttributeValue) map[string]string {
	raw := ""
	if v, ok := attrs[ProducerAttributes]; ok {
		raw = aws.ToString(v.StringValue)
	} else if v, ok := attrs[moreAttrs]; ok {
		var more map[string]string
		if json.Unmarshal([]byte(aws.ToString(v.StringValue)), &more) == nil {
			raw = more[ProducerAttributes]
		}
	}
	var out map[string]string
	if raw == "" || json.Unmarshal([]byte(raw), &out) != nil {
		return nil
	}
	return out
}

// batchBytes bounds the payload of one SendMessageBatch (SQS's limit for a batch is
// that of one message; the classic 256 KiB is kept so that older endpoints accept it).
const batchBytes = 256 << 10

// chunks splits msgs into batches of at most ten and batchBytes of bodies; a larger
// message travels alone.
func chunks(msgs []types.Message) [][]types.Message {
	var out [][]types.Message
	var cur []types.Message
	size := 0
	for _, m := range msgs {
		n := len(aws.ToString(m.Body))
		if len(cur) > 0 && (len(cur) == maxBatch || size+n > batchBytes) {
			out = append(out, cur)
			cur, size = nil, 0
		}
		cur = append(cur, m)
		size += n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// sendMessages sends msgs to the queue at url and reports which of them were accepted.
func sendMessages(ctx context.Context, api API, url string, msgs []types.Message, timeout time.Duration) ([]bool, error) {
	ok := make([]bool, len(msgs))
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if len(msgs) == 1 {
		_, err := api.SendMessage(cctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: msgs[0].Body,
			MessageAttributes: redrivenAttributes(msgs[0])})
		if err != nil {
			return ok, classify(fmt.Errorf("send message %s to %s: %w", aws.ToString(msgs[0].MessageId), url, err))
		}
		ok[0] = true
		return ok, nil
	}
	entries := make([]types.SendMessageBatchRequestEntry, len(msgs))
	for i, m := range msgs {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), MessageBody: m.Body,
			MessageAttributes: redrivenAttributes(m)}
	}
	out, err := api.SendMessageBatch(cctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		return ok, classify(fmt.Errorf("send %d messages to %s: %w", len(msgs), url, err))
	}
	for _, s := range out.Successful {
		if i, found := entryIndex(s.Id, len(msgs)); found {
			ok[i] = true
		}
	}
	var errs []error
	for _, f := range out.Failed {
		if i, found := entryIndex(f.Id, len(msgs)); found {
			errs = append(errs, fmt.Errorf("send message %s to %s: %w", aws.ToString(msgs[i].MessageId), url, entryError(f)))
		}
	}
	return ok, errors.Join(errs...)
}

// deleteHandles deletes messages by receipt handle and returns how many were deleted.
func deleteHandles(ctx context.Context, api API, url string, handles []string, timeout time.Duration) (int, error) {
	if len(handles) == 0 {
		return 0, nil
	}
	entries := make([]types.DeleteMessageBatchRequestEntry, len(handles))
	for i, h := range handles {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := api.DeleteMessageBatch(cctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: entries})
	if err != nil {
		return 0, classify(fmt.Errorf("delete %d messages from %s: %w", len(handles), url, err))
	}
	var errs []error
	for _, f := range out.Failed {
		errs = append(errs, fmt.Errorf("delete from %s: %w", url, entryError(f)))
	}
	return len(out.Successful), errors.Join(errs...)
}

// release makes held messages visible again at once; failures are left to their
// visibility timeout.
func release(ctx context.Context, api API, url string, handles []string) {
	for start := 0; start < len(handles); start += maxBatch {
		chunk := handles[start:min(start+maxBatch, len(handles))]
		entries := make([]types.ChangeMessageVisibilityBatchRequestEntry, len(chunk))
		for i, h := range chunk {
			entries[i] = types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(h)}
		}
		_, _ = api.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: entries})
	}
}
