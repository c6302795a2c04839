package e2e

import (
	"context"
	"eventproc/service"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"

	"eventproc/adapters/awsclient"
	"eventproc/config"
	"eventproc/engine"
	"eventproc/metrics"
	"eventproc/worker"
)

// BenchmarkDrain drains a queue pre-filled with 20,000 predecessor-format (v1) events of
// the three shipped types through the emulators on this machine, with the worker of
// `eventproc run` (same wiring, default configuration), and reports events per second
// and AWS API requests per event (every request the worker made, counted by the SDK
// middleware).
func BenchmarkDrain(b *testing.B) {
	const n = 20000
	s := newE2E(b, "", "events.d", 60*time.Second)
	rs, _ := engine.Load(os.DirFS("events.d"))
	// EVENTPROC_* variables tune the run (EVENTPROC_WORKERS=256 make bench).
	cfg, err := config.Load(config.Input{Dir: b.TempDir(), Environ: os.Environ(), Flags: map[string]string{"queue_url": s.queueURL}})
	if err != nil {
		b.Fatal(err)
	}
	bodies := generate(b, rs, n, true, 42, "v1")
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		if i > 0 {
			bodies = generate(b, rs, n, true, uint64(42+i), "v1")
		}
		s.send(b, s.queueURL, bodies)
		awsCfg := s.emu.Config.Copy()
		counter := &awsclient.Counter{}
		counter.Instrument(&awsCfg)
		lat := &latencies{}
		awsCfg.APIOptions = append(awsCfg.APIOptions, lat.middleware)
		ctx, cancel := context.WithCancel(context.Background())
		// Logged as `eventproc run` logs (JSON, info: a line per message), into io.Discard.
		// With a reloadable engine and the metrics observer, as `eventproc run` has them.
		w, err := service.NewWorker(ctx, cfg, worker.NewSwapEngine(rs), awsCfg, slog.New(slog.NewJSONHandler(io.Discard, nil)),
			func(c *worker.Config) { c.Observer = metrics.New() })
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- w.Run(ctx) }()
		deadline := start.Add(5 * time.Minute)
		for w.Stats().Outcomes["processed"] < n {
			if time.Now().After(deadline) {
				b.Fatalf("drained %d of %d in 5 minutes", w.Stats().Outcomes["processed"], n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took := time.Since(start)
		b.StopTimer()
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		st := w.Stats()
		total := counter.Total()
		b.ReportMetric(float64(n)/took.Seconds(), "events/s")
		b.ReportMetric(float64(total.Requests)/float64(n), "requests/event")
		for _, op := range counter.Ops() {
			b.Logf("%s %s: %d requests, %d errors", op.Service, op.Operation, counter.Snapshot()[op].Requests, counter.Snapshot()[op].Errors)
		}
		lat.log(b)
		b.Logf("workers %d, max in flight %d, pollers %d", cfg.Workers, cfg.MaxInFlight, cfg.Sources[0].Concurrency)
		b.Logf("%d events in %v: %.0f events/s, %d requests (%.3f per event), outcomes %v",
			n, took.Round(time.Millisecond), float64(n)/took.Seconds(), total.Requests, float64(total.Requests)/float64(n), st.Outcomes)
		b.StartTimer()
	}
}

// latencies records how long each AWS operation's calls take, to see where time goes.
type latencies struct {
	mu sync.Mutex
	d  map[string][]time.Duration
}

func (l *latencies) middleware(s *middleware.Stack) error {
	return s.Finalize.Add(middleware.FinalizeMiddlewareFunc("bench.latency",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			start := time.Now()
			out, md, err := next.HandleFinalize(ctx, in)
			l.mu.Lock()
			if l.d == nil {
				l.d = map[string][]time.Duration{}
			}
			op := awsmiddleware.GetOperationName(ctx)
			l.d[op] = append(l.d[op], time.Since(start))
			l.mu.Unlock()
			return out, md, err
		}), middleware.After)
}

func (l *latencies) log(b *testing.B) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for op, ds := range l.d {
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		b.Logf("%s latency: p50 %v, p90 %v, max %v", op, ds[len(ds)/2].Round(time.Millisecond),
			ds[len(ds)*9/10].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
}
