package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"eventproc/engine"
)

// Engine is what the loop needs of the rules engine; *engine.Ruleset implements it.
// Implementations are safe for concurrent use.
type Engine interface {
	// Evaluate decides about one message body (the worker asks engine.ForStorage); it never blocks and never panics
	// (a panic is recovered by the loop anyway). The verdict carries everything the
	// stored item needs (engine.Verdict: Persist, Fields and Body when Valid; Rejected
	// and Header when Invalid): the worker adds only the processing facts.
	Evaluate(ctx context.Context, body string, opts ...engine.EvalOption) *engine.Verdict
}

var _ Engine = (*engine.Ruleset)(nil)

// SourceConfig is one queue to consume and how many receive calls run on it at once.
type SourceConfig struct {
	Source  Source
	Pollers int // concurrent long polls on this queue; 1 when zero
	// Transport says how its bodies carry the event (engine.TransportAuto when "").
	Transport engine.Transport
	// FIFO orders its messages by group (Message.GroupID): one at a time per group, in
	// the order received, groups in parallel (fifo.go). Set it for a FIFO queue.
	FIFO bool
}

// Config holds the worker's dependencies and tuning. Zero durations and sizes take the
// documented defaults.
type Config struct {
	Engine     Engine
	Sources    []SourceConfig
	Sink       Sink
	DeadLetter DeadLetter
	Logger     *slog.Logger // slog.New(slog.DiscardHandler) when nil
	Observer   Observer     // told about every settled message (metrics); none when nil

	Workers     int // goroutines evaluating and settling messages (256)
	MaxInFlight int // received messages not yet settled, over every source (1000)
	ReceiveMax  int // messages asked for per receive call (10)

	GracePeriod       time.Duration // time in-flight work gets after the context ends (30 s)
	VisibilityTimeout time.Duration // the queues' visibility timeout; extended at half (60 s)
	ReceiveTimeout    time.Duration // bound on one Receive call, long poll included (30 s)
	CallTimeout       time.Duration // bound on every other call (10 s)

	AckLinger   time.Duration // how long a partial group of acks or visibility changes waits (15 ms)
	PutLinger   time.Duration // how long a partial group of items waits (15 ms)
	PutBatch    int           // items per Sink.Put (25)
	PutParallel int           // concurrent Sink.Put calls (8)
	AckParallel int           // concurrent Ack calls per source (4)

	ReceiveBackoff    time.Duration // first pause after a failed receive (200 ms)
	ReceiveBackoffMax time.Duration // cap of that pause, doubling per failure (20 s)
	PauseMin          time.Duration // first intake pause after a deployment error (5 s)
	PauseMax          time.Duration // cap of that pause, doubling per failed probe (2 min)

	// An outage (outage.go): over OutageWindow (10 s), at least OutageMinFailures (20)
	// writes to one table, or sends to one dead-letter queue, failed retryably, making at
	// least OutageRatio (0.8) of its results.
	OutageWindow      time.Duration
	OutageMinFailures int
	OutageRatio       float64

	Now  func() time.Time // timestamps of items and dead letters; time.Now when nil
	Rand func() float64   // uniform in [0, 1) for jitter; math/rand/v2 when nil
}

// Worker is the loop. Create it with New and start it with Run, once.
type Worker struct {
	cfg     Config
	log     *slog.Logger
	sources []*source
	brk     *breaker
	outages *outages
	puts    *batcher[Item]
	jobs    chan *job

	hardCtx    context.Context // cancelled when the grace period ends
	hardCancel context.CancelFunc

	regMu    sync.Mutex
	registry map[*job]struct{} // received, not yet settled: their visibility is extended

	holdMu      sync.Mutex
	pollersDone bool   // the last poller has returned
	held        []*job // unstarted messages to release once the pollers are done
	parked      []*job // held through a deployment error until intake resumes (hold.go)

	draining atomic.Bool
	started  atomic.Bool
	stats    counters
}

// source is one queue with its batchers.
type source struct {
	Source
	pollers   int
	transport engine.Transport
	fifo      *groups // nil on a standard queue
	acks      *batcher[Message]
	vis       *batcher[Visibility]
	mu        sync.Mutex
	rcvErr    error // the last receive error, nil after a success
	rcvFatal  bool
}

// New checks cfg and builds a worker.
func New(cfg Config) (*Worker, error) {
	var errs []error
	if cfg.Engine == nil {
		errs = append(errs, errors.New("no engine"))
	}
	if len(cfg.Sources) == 0 {
		errs = append(errs, errors.New("no source"))
	}
	for i, s := range cfg.Sources {
		if s.Source == nil {
			errs = append(errs, fmt.Errorf("source %d is nil", i))
		}
	}
	if cfg.Sink == nil {
		errs = append(errs, errors.New("no sink"))
	}
	if cfg.DeadLetter == nil {
		errs = append(errs, errors.New("no dead-letter queue"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("worker config: %w", err)
	}
	setDefaults(&cfg)
	w := &Worker{
		cfg:      cfg,
		log:      cfg.Logger,
		jobs:     make(chan *job, cfg.MaxInFlight),
		registry: map[*job]struct{}{},
	}
	w.hardCtx, w.hardCancel = context.WithCancel(context.Background())
	w.brk = newBreaker(cfg.pauseBackoff(), time.Now, w.breakerChanged)
	w.outages = newOutages(cfg.OutageWindow, cfg.OutageMinFailures, cfg.OutageRatio, cfg.Now)
	w.puts = newBatcher(cfg.PutBatch, cfg.PutLinger, cfg.PutParallel, itemKey,
		func() (context.Context, context.CancelFunc) { return context.WithTimeout(w.hardCtx, cfg.CallTimeout) },
		func(ctx context.Context, items []Item) []error {
			errs := putBatch(ctx, cfg.Sink, items)
			for i, err := range errs {
				w.outages.record(tableDep(items[i].Table), err)
			}
			return errs
		})
	for _, sc := range cfg.Sources {
		w.sources = append(w.sources, w.newSource(sc))
	}
	return w, nil
}

func setDefaults(c *Config) {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Workers, 256)
	def(&c.MaxInFlight, 1000)
	def(&c.ReceiveMax, 10)
	c.ReceiveMax = min(c.ReceiveMax, 10)
	def(&c.PutBatch, 25)
	c.PutBatch = min(c.PutBatch, 25)
	def(&c.PutParallel, 8)
	def(&c.AckParallel, 4)
	defD(&c.GracePeriod, 30*time.Second)
	defD(&c.VisibilityTimeout, 60*time.Second)
	defD(&c.ReceiveTimeout, 30*time.Second)
	defD(&c.CallTimeout, 10*time.Second)
	defD(&c.AckLinger, 15*time.Millisecond)
	defD(&c.PutLinger, 15*time.Millisecond)
	defD(&c.ReceiveBackoff, 200*time.Millisecond)
	defD(&c.ReceiveBackoffMax, 20*time.Second)
	defD(&c.PauseMin, 5*time.Second)
	defD(&c.PauseMax, 2*time.Minute)
	defD(&c.OutageWindow, 10*time.Second)
	def(&c.OutageMinFailures, 20)
	if c.OutageRatio <= 0 || c.OutageRatio > 1 {
		c.OutageRatio = 0.8
	}
	for i := range c.Sources {
		def(&c.Sources[i].Pollers, 1)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Float64
	}
	// A message needs a slot from receipt to settlement, and a poller asks for
	// ReceiveMax slots at once: the cap must hold at least one full receive.
	c.MaxInFlight = max(c.MaxInFlight, c.ReceiveMax)
}

func (w *Worker) newSource(sc SourceConfig) *source {
	s := &source{Source: sc.Source, pollers: sc.Pollers, transport: sc.Transport}
	if s.transport == "" {
		s.transport = engine.TransportAuto
	}
	if sc.FIFO {
		s.fifo = newGroups()
	}
	// A group's calls, retries included (callretry.go), end within half the visibility
	// timeout, while a retried change can still matter.
	bg := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), max(w.cfg.CallTimeout, w.cfg.VisibilityTimeout/2))
	}
	ack := func(ctx context.Context, msgs []Message) []error {
		failed, err := s.Ack(ctx, msgs)
		return perEntry(len(msgs), failed, err, func(m Message) string { return m.ReceiptHandle },
			func(i int) string { return msgs[i].ReceiptHandle })
	}
	setVisibility := func(ctx context.Context, vs []Visibility) []error {
		failed, err := s.SetVisibility(ctx, vs)
		return perEntry(len(vs), failed, err, func(v Visibility) string { return v.Message.ReceiptHandle },
			func(i int) string { return vs[i].Message.ReceiptHandle })
	}
	s.acks = newBatcher(10, w.cfg.AckLinger, w.cfg.AckParallel,
		func(m Message) string { return m.ReceiptHandle }, bg,
		func(ctx context.Context, msgs []Message) []error {
			return withRetries(ctx, w.hardCtx.Done(), msgs, w.cfg.CallTimeout, ack)
		})
	// One visibility flush at a time per source, so a later change of a message (its
	// retry delay) is never overtaken by an earlier one (an extension).
	s.vis = newBatcher(10, w.cfg.AckLinger, 1,
		func(v Visibility) string { return v.Message.ReceiptHandle }, bg,
		func(ctx context.Context, vs []Visibility) []error {
			return withRetries(ctx, w.hardCtx.Done(), vs, w.cfg.CallTimeout, setVisibility)
		})
	return s
}

// perEntry turns a batch call's (failed, err) into one error per entry.
func perEntry[T any](n int, failed []T, err error, keyOf func(T) string, keyAt func(int) string) []error {
	errs := make([]error, n)
	if err == nil && len(failed) == 0 {
		return errs
	}
	if err == nil {
		err = errors.New("not done")
	}
	bad := make(map[string]bool, len(failed))
	for _, f := range failed {
		bad[keyOf(f)] = true
	}
	for i := range errs {
		if bad[keyAt(i)] {
			errs[i] = err
		}
	}
	return errs
}

// itemKey is what the put batcher merges items by: their table, key and payload hash.
// Two items of one key and different hashes both go to the sink, which tells the
// second that it conflicts with the first.
func itemKey(it Item) string {
	k := it.Table
	for _, name := range sortedKeys(it.Key) {
		k += "\x00" + name + "\x00" + it.Key[name]
	}
	return k + "\x00" + it.PayloadHash()
}

// Ready reports whether the worker takes work: running, not draining, intake not
// paused by a deployment error, and the last receive of every source succeeded or
// failed only retryably. The error says why not.
func (w *Worker) Ready() error {
	switch {
	case !w.started.Load():
		return errors.New("not started")
	case w.draining.Load():
		return errors.New("draining")
	}
	if err := w.brk.err(); err != nil {
		return fmt.Errorf("intake paused: %w", err)
	}
	if w.brk.isOpen() {
		return errors.New("intake paused")
	}
	for _, s := range w.sources {
		s.mu.Lock()
		err, fatal := s.rcvErr, s.rcvFatal
		s.mu.Unlock()
		if fatal {
			return fmt.Errorf("receive %s: %w", s.Name(), err)
		}
	}
	return nil
}

func (w *Worker) breakerChanged(open bool, pause time.Duration, err error) {
	cause := Fatal
	if IsOutage(err) {
		cause = Outage
	}
	if io, ok := w.cfg.Observer.(IntakeObserver); ok {
		if !open {
			cause = ""
		}
		io.IntakeChanged(cause)
	}
	if open {
		what := "deployment error"
		if cause == Outage {
			what = "outage"
		}
		w.log.Error(what+": intake paused, not ready; the affected messages are held without using an attempt",
			slog.String("error", err.Error()), slog.Duration("probe_in", pause))
		return
	}
	w.log.Warn("intake resumed")
	w.outages.clear()
	w.resume()
}
