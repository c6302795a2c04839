package cli

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/snstopic"
	"eventproc/adapters/sqsqueue"
	"eventproc/engine"
)

func cmdSend(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("send", env, "[--rules DIR] (--queue NAME|URL | --via-topic ARN|NAME) --type T|all [--version V] --count N [--invalid FRACTION] [--rate R] [--seed N] [--senders N] [--group-by KEY] [--attribute NAME=VALUE ...]\n\n"+
		"Sends events generated from the rules' declarations (what generate prints for the\n"+
		"same flags and seed), each with a persistence key of its own, ten per\n"+
		"SendMessageBatch call (PublishBatch with --via-topic). --type all sends every type\n"+
		"and version in turn; without --version every version of the type. --group-by sets\n"+
		"each message's MessageGroupId (required by a FIFO queue or topic).")
	rules := rulesFlag(fs, env)
	var f sendFlags
	f.queue = fs.String("queue", "", "queue `name or URL`")
	f.topic = fs.String("via-topic", "", "publish through the SNS topic of this `ARN or name` instead of sending to a queue")
	f.gen = addGenFlags(fs)
	f.rate = fs.Float64("rate", 0, "send at this `rate`, in messages per second (0: as fast as possible)")
	f.senders = fs.Int("senders", 8, "the `number` of SendMessageBatch (or PublishBatch) calls at once")
	f.groupBy = fs.String("group-by", "", "set each message's MessageGroupId to the value of this `key`: an envelope variable (tenant: the tenant_id variable) or a member path (tenant_id, body.customer_id)")
	fs.Var(&f.attributes, "attribute", "a String message `name=value` attribute on every message (repeatable)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return unexpectedArg(env, fs)
	}
	attrs, msg := f.check()
	if msg != "" {
		fmt.Fprintf(env.stderr, "eventproc send: %s\n", msg)
		return 2
	}
	rs := awsRules(env, "send", *rules)
	if rs == nil {
		return 1
	}
	gen, kinds, err := f.gen.generator(rs)
	var shape *messageShape
	if err == nil {
		shape, err = newMessageShape(rs.Envelope(), *f.groupBy, f.fifo(), attrs)
	}
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 2
	}
	sd := &sender{gen: gen, shape: shape, count: *f.gen.count, rate: *f.rate}
	target, err := f.connect(ctx, env, sd)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 1
	}
	sd.start = time.Now()
	sent, err := sd.run(ctx, *f.senders, env.stderr)
	took := time.Since(sd.start)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.stdout, "sent %d messages (%d valid, %d invalid) of %s to %s in %v (%.0f/s, seed %d)\n",
		sent, sent-int64(sd.invalid), sd.invalid, kindNames(kinds), target,
		took.Round(time.Millisecond), float64(sent)/max(took.Seconds(), 1e-9), *f.gen.seed)
	return 0
}

// sendFlags are send's flags.
type sendFlags struct {
	queue, topic, groupBy *string
	gen                   *genFlags
	rate                  *float64
	senders               *int
	attributes            stringList
}

// check returns what is wrong with the flags ("" when nothing is) and the attributes
// they give.
func (f *sendFlags) check() (map[string]string, string) {
	switch {
	case (*f.queue == "") == (*f.topic == ""):
		return nil, "give one of --queue and --via-topic"
	case f.gen.check() != "":
		return nil, f.gen.check()
	case *f.rate < 0 || *f.senders < 1:
		return nil, "--rate must not be negative and --senders must be positive"
	case f.fifo() && *f.groupBy == "":
		return nil, fmt.Sprintf("%s is FIFO: every message needs a MessageGroupId; say which member gives it with --group-by KEY (e.g. --group-by tenant)", cmp.Or(*f.queue, *f.topic))
	}
	attrs := map[string]string{}
	for _, a := range f.attributes {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" {
			return nil, fmt.Sprintf("--attribute %q is not NAME=VALUE", a)
		}
		attrs[name] = value
	}
	if len(attrs) > 10 {
		return nil, "at most 10 --attribute (SQS's limit)"
	}
	return attrs, ""
}

// fifo reports whether the queue or topic is a FIFO one.
func (f *sendFlags) fifo() bool {
	return snstopic.IsFIFO(queueName(*f.queue)) || snstopic.IsFIFO(*f.topic)
}

// connect resolves the queue or topic, sets sd's deliver, and returns what to call the
// target in the summary.
func (f *sendFlags) connect(ctx context.Context, env *cmdEnv, sd *sender) (string, error) {
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		return "", err
	}
	if *f.topic != "" {
		api := snstopic.NewClient(cfg)
		arn, err := snstopic.ResolveARN(ctx, api, *f.topic, 0)
		if err != nil {
			return "", err
		}
		sd.deliver = func(ctx context.Context, b []outgoing) (int, error) {
			return snstopic.Publish(ctx, api, arn, topicMessages(b), 0)
		}
		return "topic " + arn, nil
	}
	api := sqsqueue.NewClient(cfg)
	url, err := sqsqueue.ResolveURL(ctx, api, *f.queue, 0)
	if err != nil {
		return "", err
	}
	sd.deliver = func(ctx context.Context, b []outgoing) (int, error) {
		return sqsqueue.SendMessages(ctx, api, url, b, 0)
	}
	return url, nil
}

// outgoing is one message to send.
type outgoing = sqsqueue.Outgoing

func topicMessages(b []outgoing) []snstopic.Message {
	out := make([]snstopic.Message, len(b))
	for i, m := range b {
		out[i] = snstopic.Message{Body: m.Body, Attributes: m.Attributes, GroupID: m.GroupID, DeduplicationID: m.DeduplicationID}
	}
	return out
}

// sender sends count generated events to a queue or topic: one producer generates and
// paces the batches of ten, senders send them.
type sender struct {
	gen     *engine.Generator
	shape   *messageShape
	deliver func(ctx context.Context, batch []outgoing) (int, error) // sends up to ten
	count   int
	rate    float64 // messages per second; 0: as fast as possible
	start   time.Time

	invalid int   // how many of the generated events are invalid (the producer's)
	genErr  error // the generator's error (the producer's)
	sent    atomic.Int64
	mu      sync.Mutex
	err     error // the first send error
}

// run sends the events with senders calls at once, drawing a progress bar on w while
// it is a terminal, and returns how many were sent. An error, or ctx ending first,
// stops it.
func (sd *sender) run(ctx context.Context, senders int, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []outgoing, senders)
	done := make(chan struct{})
	go func() {
		defer close(done)
		sd.produce(ctx, cancel, batches)
	}()
	var wg sync.WaitGroup
	for range senders {
		wg.Go(func() { sd.send(ctx, cancel, batches) })
	}
	stopBar := progress(w, "sent", int64(sd.count), &sd.sent)
	wg.Wait()
	<-done
	stopBar()
	n := sd.sent.Load()
	switch {
	case sd.genErr != nil:
		return n, sd.genErr
	case sd.err != nil:
		return n, fmt.Errorf("sent %d of %d: %w", n, sd.count, sd.err)
	case ctx.Err() != nil && n < int64(sd.count):
		return n, fmt.Errorf("interrupted after %d of %d", n, sd.count)
	}
	return n, nil
}

// produce generates the events into batches of ten, paced by rate, until count are
// made, ctx ends or the generator fails (then it records the error and cancels).
func (sd *sender) produce(ctx context.Context, cancel func(), batches chan<- []outgoing) {
	defer close(batches)
	var b []outgoing
	for i := 0; i < sd.count; i++ {
		e, err := sd.gen.Next()
		if err != nil {
			sd.genErr = err
			cancel()
			return
		}
		if !e.Valid {
			sd.invalid++
		}
		b = append(b, sd.shape.message(e.Body))
		if len(b) < 10 && i < sd.count-1 {
			continue
		}
		if !sd.pace(ctx, i+1-len(b)) {
			return
		}
		select {
		case batches <- b:
		case <-ctx.Done():
			return
		}
		b = nil
	}
}

// pace waits until message i may go (no sooner than i/rate after the start); it
// reports false when ctx ends first.
func (sd *sender) pace(ctx context.Context, i int) bool {
	if sd.rate <= 0 {
		return true
	}
	d := time.Until(sd.start.Add(time.Duration(float64(i) / sd.rate * float64(time.Second))))
	if d <= 0 {
		return true
	}
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// send sends the batches it takes; a failed call records the error and cancels.
func (sd *sender) send(ctx context.Context, cancel func(), batches <-chan []outgoing) {
	for b := range batches {
		n, err := sd.deliver(ctx, b)
		sd.sent.Add(int64(n))
		if err != nil {
			sd.fail(err, cancel)
		}
	}
}

func (sd *sender) fail(err error, cancel func()) {
	sd.mu.Lock()
	if sd.err == nil {
		sd.err = err
	}
	sd.mu.Unlock()
	cancel()
}

// progress draws a progress bar of done/total on w while w is a terminal, until the
// returned func is called.
func progress(w io.Writer, what string, total int64, done *atomic.Int64) func() {
	f, ok := w.(*os.File)
	if !ok {
		return func() {}
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return func() {}
	}
	draw := func() {
		n := done.Load()
		const width = 30
		fill := int(float64(width) * float64(n) / float64(max(total, 1)))
		fmt.Fprintf(w, "\r%s %d/%d [%s%s] %3.0f%%", what, n, total,
			strings.Repeat("#", min(fill, width)), strings.Repeat(" ", width-min(fill, width)), 100*float64(n)/float64(max(total, 1)))
	}
	stop := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				draw()
				fmt.Fprintln(w)
				return
			case <-t.C:
				draw()
			}
		}
	}()
	return func() { close(stop); <-finished }
}

// messageShape turns a generated event into the message to send: its group id (the
// value at a member path of the event), its deduplication id on a FIFO queue or topic
// (the event id), and the attributes of every message.
type messageShape struct {
	group []string // the member path of the group id; nil: none
	id    string   // the envelope's id field, for the deduplication id; "": none
	attrs map[string]string
}

// noGroup is the group of a message that has no value at the --group-by path (an
// invalid event missing it).
const noGroup = "none"

// newMessageShape resolves the --group-by key against the envelope: "tenant" is the
// tenant_id variable; a variable whose expression is a path (header.X, body.X…) is that
// path; anything else is a path of members itself ("tenant_id", "body.customer_id").
func newMessageShape(info engine.EnvelopeInfo, key string, fifo bool, attrs map[string]string) (*messageShape, error) {
	s := &messageShape{attrs: attrs}
	if fifo {
		s.id = info.IDField
	}
	if len(attrs) == 0 {
		s.attrs = nil
	}
	if key == "" {
		return s, nil
	}
	if key == "tenant" {
		if _, ok := info.Variables["tenant_id"]; !ok {
			return nil, fmt.Errorf("--group-by tenant: the envelope has no tenant_id variable; name a member path")
		}
		key = "tenant_id"
	}
	path := key
	if expr, ok := info.Variables[key]; ok {
		if !memberPath.MatchString(expr) {
			return nil, fmt.Errorf("--group-by %s: the envelope variable %s is %q, not a path of members that send can read; name a member path", key, key, expr)
		}
		path = expr
	}
	parts := strings.Split(path, ".")
	switch {
	case parts[0] == "header" && len(parts) > 1:
		parts = parts[1:]
	case parts[0] == "body":
		parts[0] = info.BodyField
	}
	if !slices.Contains(info.HeaderFields, parts[0]) && parts[0] != info.BodyField {
		return nil, fmt.Errorf("--group-by %s: no envelope variable or header field %s (header fields: %s; variables: %s)",
			key, parts[0], strings.Join(info.HeaderFields, ", "), strings.Join(slices.Sorted(maps.Keys(info.Variables)), ", "))
	}
	s.group = parts
	return s, nil
}

// memberPath is a CEL expression that only reads members: header.tenant_id.
var memberPath = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$`)

// message is the message that carries body.
func (s *messageShape) message(body string) outgoing {
	m := outgoing{Body: body, Attributes: s.attrs}
	if s.group == nil && s.id == "" {
		return m
	}
	var doc map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	_ = dec.Decode(&doc) // an invalid event: its ids fall back below
	if s.group != nil {
		m.GroupID = cmp.Or(fifoID(lookup(doc, s.group)), noGroup)
	}
	if s.id != "" {
		m.DeduplicationID = fifoID(lookup(doc, []string{s.id}))
		if m.DeduplicationID == "" {
			sum := sha256.Sum256([]byte(body))
			m.DeduplicationID = hex.EncodeToString(sum[:])
		}
	}
	return m
}

// lookup returns the text of the string, number or boolean at path in doc, or "".
func lookup(doc map[string]any, path []string) string {
	var v any = doc
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// fifoID makes v a valid MessageGroupId or MessageDeduplicationId: up to 128
// characters, letters, digits and ASCII punctuation. Any other value is replaced by a
// hash of it (the same value, the same id); "" stays "".
func fifoID(v string) string {
	ok := len(v) <= 128
	for i := 0; ok && i < len(v); i++ {
		c := v[i]
		ok = c > ' ' && c < 0x7f
	}
	if ok {
		return v
	}
	sum := sha256.Sum256([]byte(v))
	return "h-" + hex.EncodeToString(sum[:16])
}
