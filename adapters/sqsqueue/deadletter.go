package sqsqueue

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"eventproc/limits"
	"eventproc/worker"
)

// DeadLetter sends messages to the dead-letter queue of the queue they came from: the
// queue named by the source's redrive policy (looked up once and cached), or the one
// given in DeadLetterOptions.Targets. Safe for concurrent use.
type DeadLetter struct {
	api  API
	opts DeadLetterOptions

	mu   sync.Mutex
	dlqs map[string]string // source URL → dead-letter queue URL
}

// DeadLetterOptions configures a DeadLetter. The zero value gives the defaults.
type DeadLetterOptions struct {
	// Targets maps a source queue URL to its dead-letter queue's URL, overriding the
	// source's redrive policy.
	Targets map[string]string
	// CallTimeout bounds every call (10 s when zero).
	CallTimeout time.Duration
}

// SQS takes at most 10 message attributes; one value is kept under maxAttrValue bytes.
const (
	maxAttrs     = 10
	maxAttrValue = 8 << 10
	moreAttrs    = "more_attributes"
)

var _ worker.DeadLetter = (*DeadLetter)(nil)

// NewDeadLetter returns a DeadLetter.
func NewDeadLetter(api API, opts DeadLetterOptions) *DeadLetter {
	if opts.CallTimeout <= 0 {
		opts.CallTimeout = defaultCallTimout
	}
	return &DeadLetter{api: api, opts: opts, dlqs: maps.Clone(opts.Targets)}
}

// Send puts msg's body on the dead-letter queue of source (a queue URL) with attrs as
// String message attributes. Empty values are left out (SQS refuses them), values are cut
// to 8 KiB, and past SQS's ten attributes the least telling (attrPriority) travel as one
// JSON object in "more_attributes". A FIFO dead-letter queue gets msg in msg's group
// with a deduplication id derived from msg's id, so that a send repeated within SQS's
// five-minute deduplication window is stored once. A source with neither a redrive
// policy nor a target is a *worker.FatalError.
func (d *DeadLetter) Send(ctx context.Context, source string, msg worker.Message, attrs map[string]string) error {
	dlq, err := d.target(ctx, source)
	if err != nil {
		return err
	}
	cctx, cancel := context.WithTimeout(ctx, d.opts.CallTimeout)
	defer cancel()
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(dlq),
		MessageBody:       aws.String(msg.Body),
		MessageAttributes: fitAttributes(messageAttributes(attrs), limits.MessageBytes-len(msg.Body)),
	}
	if IsFIFO(dlq) {
		in.MessageGroupId = aws.String(fifoGroup(msg.GroupID))
		in.MessageDeduplicationId = aws.String(DeduplicationID("dead-letter", msg.ID))
	}
	_, err = d.api.SendMessage(cctx, in)
	if err != nil {
		return classify(fmt.Errorf("dead-letter message %s to %s: %w", msg.ID, dlq, err))
	}
	return nil
}

// attrPriority orders the dead-letter attributes from the most to the least telling:
// when a message is too large to carry them all, the last go first.
var attrPriority = []string{"outcome", "error", "attempts", ProducerAttributes, "event_id", "event_type", "rule", "rule_position",
	"key", worker.HashAttribute, "existing_hash", "schema_version", "table", "last_failure", "first_failure", "topic_arn", "message_group_id", "sequence_number",
	"message_sent_at", moreAttrs}

// fitAttributes trims attrs so that they take at most budget bytes of the message:
// outcome first, then the error — cut to leave room for the rest, or to what is left,
// but never under 64 bytes — then the others, from the most telling, while they fit. A
// body that leaves no room is sent without attributes; the worker's log line keeps the
// reason.
func fitAttributes(attrs map[string]types.MessageAttributeValue, budget int) map[string]types.MessageAttributeValue {
	total := 0
	for n, v := range attrs {
		total += attrSize(n, v)
	}
	if total <= budget {
		return attrs
	}
	others := lesserAttributes(attrs)
	out := map[string]types.MessageAttributeValue{}
	left := budget
	add := func(n string, v types.MessageAttributeValue) {
		if sz := attrSize(n, v); sz <= left {
			out[n] = v
			left -= sz
		}
	}
	if v, ok := attrs["outcome"]; ok {
		add("outcome", v)
	}
	if v, ok := attrs["error"]; ok {
		small := 0
		for _, n := range others {
			small += attrSize(n, attrs[n])
		}
		if e, ok := fitError(v, left, small); ok {
			add("error", e)
		}
	}
	for _, n := range others {
		add(n, attrs[n])
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// attrSize is what a message attribute counts towards a message's size.
func attrSize(name string, v types.MessageAttributeValue) int {
	return len(name) + len(aws.ToString(v.DataType)) + len(aws.ToString(v.StringValue))
}

// lesserAttributes are the names in attrs other than outcome and error, from the most
// telling (attrPriority) to the least (the rest, sorted).
func lesserAttributes(attrs map[string]types.MessageAttributeValue) []string {
	var others []string
	for _, n := range attrPriority {
		if _, ok := attrs[n]; ok && n != "outcome" && n != "error" {
			others = append(others, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(attrs)) {
		if !slices.Contains(attrPriority, n) {
			others = append(others, n)
		}
	}
	return others
}

// fitError is the error attribute v as it fits in left bytes with small bytes of other
// attributes: whole, or cut at a rune boundary to leave room for them (or, when there
// is no room for both, to what is left), but never under 64 bytes; ok is false when it
// does not fit.
func fitError(v types.MessageAttributeValue, left, small int) (types.MessageAttributeValue, bool) {
	const minError = 64
	overhead := len("error") + len("String") + len("…")
	room := left - small
	if room < minError+overhead {
		room = left // no room for both: the error before the rest
	}
	if attrSize("error", v) <= room {
		return v, true
	}
	n := room - overhead
	if n < minError {
		return types.MessageAttributeValue{}, false
	}
	e := aws.ToString(v.StringValue)
	for n > 0 && !utf8.RuneStart(e[n]) {
		n--
	}
	return stringAttr(e[:n] + "…"), true
}

// messageAttributes converts attrs to at most ten String message attributes: past
// ten, the nine most telling (attrPriority, then by name) and more_attributes.
func messageAttributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	var names []string
	for _, n := range attrPriority {
		if attrs[n] != "" {
			names = append(names, n)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(attrs)) {
		if attrs[n] != "" && !slices.Contains(attrPriority, n) {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, min(len(names), maxAttrs))
	keep := names
	if len(names) > maxAttrs {
		keep = names[:maxAttrs-1]
		more := make(map[string]string)
		for _, n := range names[maxAttrs-1:] {
			more[n] = attrs[n]
		}
		b, _ := json.Marshal(more)
		out[moreAttrs] = stringAttr(string(b))
	}
	for _, n := range keep {
		out[attrName(n)] = stringAttr(attrs[n])
	}
	return out
}

// attrName makes n a valid message attribute name: letters, digits, '_', '-' and '.',
// at most 256 bytes, not starting with "AWS." or "Amazon." (reserved).
func attrName(n string) string {
	b := []byte(n)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			b[i] = '_'
		}
	}
	n = strings.Trim(string(b), ".")
	if n == "" || strings.HasPrefix(strings.ToLower(n), "aws.") || strings.HasPrefix(strings.ToLower(n), "amazon.") {
		n = "x_" + n
	}
	return n[:min(len(n), 256)]
}

// validText replaces the characters SQS refuses in a message (those outside XML's
// character set) with U+FFFD.
func validText(s string) string {
	ok := func(r rune) bool {
		return r == 0x9 || r == 0xA || r == 0xD || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
	}
	for _, r := range s {
		if !ok(r) || r == utf8.RuneError {
			return strings.Map(func(r rune) rune {
				if !ok(r) {
					return utf8.RuneError
				}
				return r
			}, strings.ToValidUTF8(s, string(utf8.RuneError)))
		}
	}
	return s
}

func stringAttr(v string) types.MessageAttributeValue {
	v = validText(v)
	if len(v) > maxAttrValue {
		cut := maxAttrValue
		for cut > 0 && !utf8.RuneStart(v[cut]) {
			cut--
		}
		v = v[:cut]
	}
	return types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

// ErrNoDeadLetterQueue: the source queue has no redrive policy and no target is configured.
var ErrNoDeadLetterQueue = errors.New("no dead-letter queue: the queue has no redrive policy")

// target returns the dead-letter queue URL of source.
func (d *DeadLetter) target(ctx context.Context, source string) (string, error) {
	d.mu.Lock()
	dlq, ok := d.dlqs[source]
	d.mu.Unlock()
	if ok {
		return dlq, nil
	}
	dlq, err := RedriveTarget(ctx, d.api, source, d.opts.CallTimeout)
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	if d.dlqs == nil {
		d.dlqs = make(map[string]string)
	}
	d.dlqs[source] = dlq
	d.mu.Unlock()
	return dlq, nil
}

// RedriveTarget returns the URL of the dead-letter queue named by the redrive policy of
// the queue at url. A queue without one gives a *worker.FatalError wrapping
// ErrNoDeadLetterQueue.
func RedriveTarget(ctx context.Context, api API, url string, timeout time.Duration) (string, error) {
	if timeout <= 0 {
		timeout = defaultCallTimout
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := api.GetQueueAttributes(cctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(url),
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameRedrivePolicy},
	})
	if err != nil {
		return "", classify(fmt.Errorf("redrive policy of %s: %w", url, err))
	}
	raw := out.Attributes[string(types.QueueAttributeNameRedrivePolicy)]
	if raw == "" {
		return "", &worker.FatalError{Err: fmt.Errorf("%s: %w", url, ErrNoDeadLetterQueue)}
	}
	var policy RedrivePolicy
	if err := json.Unmarshal([]byte(raw), &policy); err != nil || policy.DeadLetterTargetArn == "" {
		return "", &worker.FatalError{Err: fmt.Errorf("redrive policy of %s: unreadable %q", url, raw)}
	}
	// arn:aws:sqs:REGION:ACCOUNT:NAME
	parts := strings.Split(policy.DeadLetterTargetArn, ":")
	if len(parts) != 6 || parts[2] != "sqs" {
		return "", &worker.FatalError{Err: fmt.Errorf("redrive policy of %s: bad target arn %q", url, policy.DeadLetterTargetArn)}
	}
	cctx2, cancel2 := context.WithTimeout(ctx, timeout)
	defer cancel2()
	u, err := api.GetQueueUrl(cctx2, &sqs.GetQueueUrlInput{QueueName: aws.String(parts[5]), QueueOwnerAWSAccountId: aws.String(parts[4])})
	if err != nil {
		return "", classify(fmt.Errorf("dead-letter queue %s of %s: %w", parts[5], url, err))
	}
	return aws.ToString(u.QueueUrl), nil
}

// RedrivePolicy is a queue's RedrivePolicy attribute.
type RedrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     count  `json:"maxReceiveCount"`
}

// count is a JSON number that may come quoted ("5"), as SQS accepts both.
type count int

func (c *count) UnmarshalJSON(b []byte) error {
	n, err := strconv.Atoi(strings.Trim(string(b), `"`))
	if err != nil {
		return fmt.Errorf("maxReceiveCount %s: %w", b, err)
	}
	*c = count(n)
	return nil
}

// IsFIFO reports whether the queue at url (or called so) is a FIFO queue: its name
// ends in .fifo.
func IsFIFO(url string) bool { return strings.HasSuffix(url, ".fifo") }

// fifoGroup is the MessageGroupId of a message sent to a FIFO queue on behalf of a
// message of group g: g, or "default" for a message that had none.
func fifoGroup(g string) string {
	if g == "" {
		return "default"
	}
	return g
}

// DeduplicationID is the MessageDeduplicationId of a message that eventproc sends to a
// FIFO queue on behalf of the message with id, for purpose ("dead-letter", "redrive"):
// the same for every repeat of that send, within SQS's 128 characters.
func DeduplicationID(purpose, id string) string {
	sum := sha256.Sum256([]byte(purpose + "\x00" + id))
	return purpose + "-" + hex.EncodeToString(sum[:16])
}
