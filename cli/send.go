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
	// One producer generates and paces the batches; senders send them.
	type batch struct{ bodies []string }
	batches := make(chan batch, *senders)
	var sent, failed atomic.Int64
	var genErr error
	nInvalid := 0
	start := time.Now()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(batches)
		var b []string
		for i := 0; i < *count; i++ {
			e, err := gen.Next()
			if err != nil {
				genErr = err
				cancel()
				return
			}
			if !e.Valid {
				nInvalid++
			}
			b = append(b, e.Body)
			if len(b) == 10 || i == *count-1 {
				if *rate > 0 { // pace: message i+1 goes no sooner than (i+1)/rate
					due := start.Add(time.Duration(float64(i+1-len(b)) / *rate * float64(time.Second)))
					if d := time.Until(due); d > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(d):
						}
					}
				}
				select {
				case batches <- batch{b}:
				case <-ctx.Done():
					return
				}
				b = nil
			}
		}
	}()
	var mu sync.Mutex
	var sendErr error
	var wg sync.WaitGroup
	for range *senders {
		wg.Go(func() {
			for b := range batches {
				n, err := sqsqueue.SendBatch(ctx, api, url, b.bodies, 0)
				sent.Add(int64(n))
				if err != nil {
					failed.Add(int64(len(b.bodies) - n))
					mu.Lock()
					if sendErr == nil {
						sendErr = err
					}
					mu.Unlock()
					cancel()
				}
			}
		})
	}
	stopBar := progress(env.stderr, "sent", int64(*count), &sent)
	wg.Wait()
	stopBar()
	took := time.Since(start)
	switch {
	case genErr != nil:
		fmt.Fprintf(env.stderr, "eventproc send: %v\n", genErr)
		return 1
	case sendErr != nil:
		fmt.Fprintf(env.stderr, "eventproc send: sent %d of %d: %v\n", sent.Load(), *count, sendErr)
		return 1
	case ctx.Err() != nil && sent.Load() < int64(*count):
		fmt.Fprintf(env.stderr, "eventproc send: interrupted after %d of %d\n", sent.Load(), *count)
		return 1
	}
	fmt.Fprintf(env.stdout, "sent %d messages (%d valid, %d invalid) of %s to %s in %v (%.0f/s, seed %d)\n",
		sent.Load(), sent.Load()-int64(nInvalid), nInvalid, kindNames(kinds), url,
		took.Round(time.Millisecond), float64(sent.Load())/max(took.Seconds(), 1e-9), *gf.seed)
	return 0
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
