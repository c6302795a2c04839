package sqsqueue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/limits"
)

// ProvisionOptions configures Provision. The zero value gives the defaults.
type ProvisionOptions struct {
	// MaxAttempts is the largest number of attempts the worker makes (the ruleset's
	// MaxAttempts); the queue's own redrive must come after it.
	MaxAttempts int
	// MaxReceiveCount is the redrive policy's maxReceiveCount: after that many receives
	// SQS itself moves a message to the dead-letter queue. It must exceed MaxAttempts
	// (when zero: MaxAttempts+3; on a FIFO queue 10×MaxAttempts, at most 1000, as its
	// receive counts also grow when the worker releases a message behind its group's
	// retried head).
	MaxReceiveCount int
	// VisibilityTimeout is the queue's default visibility timeout (60 s when zero).
	VisibilityTimeout time.Duration
	// CallTimeout bounds every call (10 s when zero).
	CallTimeout time.Duration
}

// Provisioned describes a queue and its dead-letter queue.
type Provisioned struct {
	Name, URL, ARN               string
	DeadLetterURL, DeadLetterARN string
	MaxReceiveCount              int
}

// DeadLetterName returns the name of the dead-letter queue of the queue called name:
// NAME-dlq (NAME-dlq.fifo for a FIFO queue).
func DeadLetterName(name string) string {
	if base, ok := strings.CutSuffix(name, ".fifo"); ok {
		return base + "-dlq.fifo"
	}
	return name + "-dlq"
}

// dlqRetention keeps dead letters as long as SQS allows: 14 days.
const dlqRetention = "1209600"

// Provision creates the queue called name and its dead-letter queue (DeadLetterName),
// and sets the queue's visibility timeout and redrive policy. A FIFO queue (NAME.fifo)
// gets a FIFO dead-letter queue without content-based deduplication. It is idempotent: queues
// that exist get their attributes set to the same values.
func Provision(ctx context.Context, api API, name string, opts ProvisionOptions) (Provisioned, error) {
	switch {
	case opts.MaxReceiveCount != 0:
	case IsFIFO(name):
		opts.MaxReceiveCount = min(max(10*opts.MaxAttempts, opts.MaxAttempts+3), 1000)
	default:
		opts.MaxReceiveCount = opts.MaxAttempts + 3
	}
	if opts.MaxReceiveCount <= opts.MaxAttempts || opts.MaxReceiveCount > 1000 {
		return Provisioned{}, fmt.Errorf("provision %s: max receive count %d must exceed the max attempts %d (and be at most 1000)", name, opts.MaxReceiveCount, opts.MaxAttempts)
	}
	if opts.VisibilityTimeout == 0 {
		opts.VisibilityTimeout = 60 * time.Second
	}
	if opts.VisibilityTimeout < 0 || opts.VisibilityTimeout > limits.Visibility {
		return Provisioned{}, fmt.Errorf("provision %s: visibility timeout %v is outside [0, 12h]", name, opts.VisibilityTimeout)
	}
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = defaultCallTimout
	}
	p := Provisioned{Name: name, MaxReceiveCount: opts.MaxReceiveCount}
	var err error
	dlqAttrs := map[string]string{string(types.QueueAttributeNameMessageRetentionPeriod): dlqRetention}
	if IsFIFO(name) {
		// Dead letters carry their own deduplication ids (DeduplicationID): two messages
		// with the same body are two dead letters.
		dlqAttrs[string(types.QueueAttributeNameContentBasedDeduplication)] = "false"
	}
	p.DeadLetterURL, p.DeadLetterARN, err = ensureQueue(ctx, api, DeadLetterName(name), dlqAttrs, opts.CallTimeout)
	if err != nil {
		return Provisioned{}, err
	}
	policy, err := json.Marshal(map[string]any{"deadLetterTargetArn": p.DeadLetterARN, "maxReceiveCount": opts.MaxReceiveCount})
	if err != nil {
		return Provisioned{}, fmt.Errorf("provision %s: %w", name, err)
	}
	p.URL, p.ARN, err = ensureQueue(ctx, api, name, map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(int(VisibilitySeconds(opts.VisibilityTimeout))),
		string(types.QueueAttributeNameRedrivePolicy):     string(policy),
	}, opts.CallTimeout)
	if err != nil {
		return Provisioned{}, err
	}
	return p, nil
}

// ensureQueue creates the queue if it is missing, sets attrs, and returns its URL and ARN.
func ensureQueue(ctx context.Context, api API, name string, attrs map[string]string, timeout time.Duration) (url, arn string, err error) {
	call := func(f func(ctx context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		return f(cctx)
	}
	var create map[string]string
	if IsFIFO(name) {
		create = map[string]string{string(types.QueueAttributeNameFifoQueue): "true"}
	}
	// Created without attributes, CreateQueue returns an existing queue as it is;
	// SetQueueAttributes then brings new and old to the same state.
	err = call(func(ctx context.Context) error {
		out, err := api.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: create})
		if err == nil {
			url = aws.ToString(out.QueueUrl)
		}
		return err
	})
	if err != nil {
		return "", "", classify(fmt.Errorf("create queue %s: %w", name, err))
	}
	err = call(func(ctx context.Context) error {
		_, err := api.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url), Attributes: attrs})
		return err
	})
	if err != nil {
		return "", "", classify(fmt.Errorf("set attributes of queue %s: %w", name, err))
	}
	err = call(func(ctx context.Context) error {
		out, err := api.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
			QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn}})
		if err == nil {
			arn = out.Attributes[string(types.QueueAttributeNameQueueArn)]
		}
		return err
	})
	if err != nil {
		return "", "", classify(fmt.Errorf("arn of queue %s: %w", name, err))
	}
	return url, arn, nil
}

// AllowTopic lets the SNS topic topicARN send to the queue at url (whose ARN is
// queueARN), as a topic needs before its subscription delivers anything: it adds one
// statement to the queue's access policy, keeping the others. It is idempotent: a
// statement for the topic is replaced by the same one.
func AllowTopic(ctx context.Context, api API, url, queueARN, topicARN string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = defaultCallTimout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	out, err := api.GetQueueAttributes(cctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNamePolicy}})
	cancel()
	if err != nil {
		return classify(fmt.Errorf("policy of queue %s: %w", queueARN, err))
	}
	policy, err := withTopicStatement(out.Attributes[string(types.QueueAttributeNamePolicy)], queueARN, topicARN)
	if err != nil {
		return fmt.Errorf("policy of queue %s: %w", queueARN, err)
	}
	cctx, cancel = context.WithTimeout(ctx, timeout)
	defer cancel()
	_, err = api.SetQueueAttributes(cctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(url),
		Attributes: map[string]string{string(types.QueueAttributeNamePolicy): policy}})
	if err != nil {
		return classify(fmt.Errorf("set policy of queue %s: %w", queueARN, err))
	}
	return nil
}

// withTopicStatement returns the access policy doc (JSON; "" for none) with the
// statement that lets topicARN send to queueARN, in place of any earlier one of the same
// Sid.
func withTopicStatement(doc, queueARN, topicARN string) (string, error) {
	policy := map[string]any{"Version": "2012-10-17"}
	if doc != "" {
		if err := json.Unmarshal([]byte(doc), &policy); err != nil {
			return "", err
		}
	}
	var statements []any
	switch s := policy["Statement"].(type) {
	case []any:
		statements = s
	case map[string]any:
		statements = []any{s}
	}
	sum := sha256.Sum256([]byte(topicARN))
	sid := "eventprocSNS" + hex.EncodeToString(sum[:8])
	kept := statements[:0]
	for _, s := range statements {
		if m, ok := s.(map[string]any); !ok || m["Sid"] != sid {
			kept = append(kept, s)
		}
	}
	policy["Statement"] = append(kept, map[string]any{
		"Sid": sid, "Effect": "Allow", "Principal": map[string]any{"Service": "sns.amazonaws.com"},
		"Action": "sqs:SendMessage", "Resource": queueARN,
		"Condition": map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": topicARN}},
	})
	b, err := json.Marshal(policy)
	return string(b), err
}
