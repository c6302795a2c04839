package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"eventproc/adapters/awsclient"
	"eventproc/adapters/sqsqueue"
	"eventproc/engine"
)

func cmdSend(ctx context.Context, env *cmdEnv, args []string) int {
	fs := newFlagSet("send", env, "[--rules DIR] --queue NAME|URL --type T|all [--version V] --count N [--invalid FRACTION] [--rate R] [--seed N] [--senders N]\n\n"+
		"Sends events generated from the rules' declarations (what generate prints for the\n"+
		"same flags and seed), each with a persistence key of its own, ten per\n"+
		"SendMessageBatch call. --type all sends every type and version in turn; without\n"+
		"--version every version of the type.")
	rules := rulesFlag(fs, env)
	queue := fs.String("queue", "", "queue `name or URL`")
	gf := addGenFlags(fs)
	count := gf.count
	rate := fs.Float64("rate", 0, "send at this `rate`, in messages per second (0: as fast as possible)")
	senders := fs.Int("senders", 8, "the `number` of SendMessageBatch calls at once")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	switch {
	case fs.NArg() > 0:
		return unexpectedArg(env, fs)
	case *queue == "":
		fmt.Fprintln(env.stderr, "eventproc send: --queue is required")
		return 2
	case gf.check() != "":
		fmt.Fprintf(env.stderr, "eventproc send: %s\n", gf.check())
		return 2
	case *rate < 0 || *senders < 1:
		fmt.Fprintln(env.stderr, "eventproc send: --rate must not be negative and --senders must be positive")
		return 2
	}
	rs := awsRules(env, "send", *rules)
	if rs == nil {
		return 1
	}
	gen, kinds, err := gf.generator(rs)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 2
	}
	cfg, err := awsclient.Load(ctx, env.getenv)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 1
	}
	api := sqsqueue.NewClient(cfg)
	url, err := sqsqueue.ResolveURL(ctx, api, *queue, 0)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 1
	}
	sd := &sender{api: api, url: url, gen: gen, count: *count, rate: *rate, start: time.Now()}
	sent, err := sd.run(ctx, *senders, env.stderr)
	took := time.Since(sd.start)
	if err != nil {
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", err)
		return 1
	}
	fmt.Fprintf(env.stdout, "sent %d messages (%d valid, %d invalid) of %s to %s in %v (%.0f/s, seed %d)\n",
		sent, sent-int64(sd.invalid), sd.invalid, kindNames(kinds), url,
		took.Round(time.Millisecond), float64(sent)/max(took.Seconds(), 1e-9), *gf.seed)
	return 0
}

// sender sends count generated events to a queue: one producer generates and paces
// the batches of ten, senders send them.
type sender struct {
	api   sqsqueue.API
	url   string
	gen   *engine.Generator
	count int
	rate  float64 // messages per second; 0: as fast as possible
	start time.Time

	invalid int   // how many of the generated events are invalid (the producer's)
	genErr  error // the generator's error (the producer's)
	sent    atomic.Int64
	mu      sync.Mutex
	err     error // the first send error
}

// run sends the events with senders SendMessageBatch calls at once, drawing a progress
// bar on w while it is a terminal, and returns how many were sent. An error, or ctx
// ending first, stops it.
func (sd *sender) run(ctx context.Context, senders int, w io.Writer) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []string, senders)
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
func (sd *sender) produce(ctx context.Context, cancel func(), batches chan<- []string) {
	defer close(batches)
	var b []string
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
		b = append(b, e.Body)
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
func (sd *sender) send(ctx context.Context, cancel func(), batches <-chan []string) {
	for b := range batches {
		n, err := sqsqueue.SendBatch(ctx, sd.api, sd.url, b, 0)
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
