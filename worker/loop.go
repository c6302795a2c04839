package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"eventproc/backoff"
	"eventproc/engine"
)

// job is one received message on its way through the loop.
type job struct {
	src      *source
	msg      Message
	meta     engine.Message       // what Evaluate is told about msg
	opts     [3]engine.EvalOption // Evaluate's options; meta and opts live here to share the job's allocation
	received time.Time
	extendAt time.Time // when its visibility is next extended; guarded by Worker.regMu
	// handedOff says that its in-flight slot has gone with its final action (an ack, a
	// visibility change, a hold); owned by the goroutine handling the message.
	handedOff bool
}

// Run consumes every source until ctx ends, then drains (see drain.go) and returns nil.
// It returns an error only when called twice. Deployment errors pause intake and do not
// end Run: see breaker.go.
func (w *Worker) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("worker: Run called twice")
	}
	defer w.hardCancel()
	sem := semaphore.NewWeighted(int64(w.cfg.MaxInFlight))
	var pollers, workers sync.WaitGroup
	for _, s := range w.sources {
		for range s.pollers {
			pollers.Go(func() { w.poll(ctx, s, sem) })
		}
	}
	for range w.cfg.Workers {
		workers.Go(func() { w.work(ctx, sem) })
	}
	extStop, extDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(extDone)
		w.extendLoop(extStop)
	}()
	w.log.Info("worker started", slog.Int("sources", len(w.sources)), slog.Int("workers", w.cfg.Workers),
		slog.Int("max_in_flight", w.cfg.MaxInFlight))
	<-ctx.Done()
	w.drain(&pollers, &workers, sem, extStop, extDone)
	return nil
}

// poll is one long-poll loop on one source. It asks for as many messages as it holds
// in-flight slots for, hands each to the worker pool, and backs off after errors.
func (w *Worker) poll(ctx context.Context, s *source, sem *semaphore.Weighted) {
	failures := 0
	for ctx.Err() == nil {
		a, ok := w.brk.admit(ctx, w.cfg.ReceiveMax)
		if !ok {
			return
		}
		n, probe := a.n, a.probe
		if probe && w.probeHeld() {
			continue // a held message is the probe: nothing is redelivered
		}
		if !acquire(ctx, sem, a) {
			if probe {
				w.brk.probeEmpty()
			}
			continue // ctx ended, or the breaker changed state: ask admit again
		}
		// A long poll in progress when ctx ends is left to finish (within the grace
		// period): cancelling it could leave messages delivered to a poll nobody reads,
		// invisible until their timeout ends. What it returns is released at once.
		rctx, cancel := context.WithTimeout(w.hardCtx, w.cfg.ReceiveTimeout)
		msgs, err := s.Receive(rctx, n)
		cancel()
		if extra := len(msgs) - n; extra > 0 {
			// More than asked for: take slots for them rather than drop them.
			_ = sem.Acquire(context.Background(), int64(extra))
		} else if extra < 0 {
			sem.Release(int64(-extra))
		}
		if probe && len(msgs) == 0 {
			w.brk.probeEmpty()
		}
		w.start(s, msgs)
		if err == nil {
			s.setReceiveErr(nil)
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		failures++
		w.stats.receiveErrors.Add(1)
		s.setReceiveErr(err)
		d := w.cfg.receiveBackoff().Delay(failures, w.cfg.Rand())
		level := slog.LevelWarn
		if IsFatal(err) {
			level = slog.LevelError
			d = max(d, w.cfg.PauseMin)
		}
		w.log.LogAttrs(ctx, level, "receive failed", slog.String("source", s.Name()),
			slog.String("error", err.Error()), slog.Int("failures", failures), slog.Duration("backoff", d))
		sleep(ctx, d)
	}
}

// acquire takes a.n in-flight slots, and reports whether it did. Held messages keep
// theirs (hold.go), so when intake pauses every slot may stay taken until it resumes,
// which takes a probe, which takes a poller: rather than wait through the pause, it
// gives way when the breaker changes state after the admission, or when ctx ends.
func acquire(ctx context.Context, sem *semaphore.Weighted, a admission) bool {
	if sem.TryAcquire(int64(a.n)) {
		return true
	}
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-a.changed:
			cancel()
		case <-actx.Done():
		}
	}()
	return sem.Acquire(actx, int64(a.n)) == nil
}

// start hands received messages to the workers. On a FIFO source the whole batch joins
// its groups first (fifo.go), and only then are the heads started: a head must not settle
// before the messages behind it in the same batch have joined its group.
func (w *Worker) start(s *source, msgs []Message) {
	now := time.Now() // the queue's visibility timer runs on real time
	jobs := make([]*job, len(msgs))
	for i, m := range msgs {
		w.stats.received.Add(1)
		jobs[i] = &job{src: s, msg: m, received: now}
		w.track(jobs[i], now)
	}
	if s.fifo != nil {
		jobs = s.fifo.admit(jobs)
	}
	for _, j := range jobs {
		w.jobs <- j // never blocks: the channel holds MaxInFlight jobs
	}
}

// receiveBackoff is the pause after failed receives: ReceiveBackoff, doubling per
// failure, capped at ReceiveBackoffMax, shortened by up to a quarter by jitter.
func (c *Config) receiveBackoff() backoff.Policy {
	return backoff.Policy{Initial: c.ReceiveBackoff, Multiplier: 2, Max: c.ReceiveBackoffMax, Jitter: 0.25}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (s *source) setReceiveErr(err error) {
	s.mu.Lock()
	s.rcvErr, s.rcvFatal = err, IsFatal(err)
	s.mu.Unlock()
}

// work takes jobs until the channel closes. After ctx ends it does not start a job: it
// makes the message visible again. While intake is paused by a deployment error it holds
// the message until intake resumes (hold.go).
func (w *Worker) work(ctx context.Context, sem *semaphore.Weighted) {
	for j := range w.jobs {
		if ctx.Err() != nil {
			w.release(j, sem, true)
			continue
		}
		if w.brk.paused() {
			w.hold(j, sem)
			continue
		}
		w.handle(j, sem)
	}
}

// handle processes and settles one message. A panic while processing is an outcome
// (see decide); one while settling (a bug in an adapter, an observer or here) is
// logged, its in-flight slot is given back unless its final action took it, and the
// message is left to reappear when its visibility timeout ends.
func (w *Worker) handle(j *job, sem *semaphore.Weighted) {
	j.handedOff = false // a held message comes back here
	defer func() {
		if r := recover(); r != nil {
			w.untrack(j)
			if !j.handedOff {
				sem.Release(1)
			}
			w.groupSettled(j, false, sem) // it comes back after its timeout: so does its group
			w.stats.count(Panicked)
			func() {
				defer func() { _ = recover() }() // the observer may be what panicked
				w.observe(Settlement{Outcome: Panicked, Took: time.Since(j.received)})
			}()
			w.log.Error("panic while settling a message: it will be delivered again after its visibility timeout",
				slog.String("message_id", j.msg.ID), slog.String("panic", fmt.Sprint(r)), slog.String("stack", string(debug.Stack())))
		}
	}()
	w.settle(j, w.process(j), sem)
}

// process evaluates a message and writes its item; it recovers a panic into facts.
func (w *Worker) process(j *job) (f facts) {
	defer func() {
		if r := recover(); r != nil {
			f.panic = &panicError{value: r, stack: string(debug.Stack())}
		}
	}()
	j.meta = engine.Message{ID: j.msg.ID, Attributes: j.msg.Attributes, SentAt: j.msg.SentAt,
		ReceiveCount: int64(j.msg.ReceiveCount), GroupID: j.msg.GroupID, SequenceNumber: j.msg.SequenceNumber,
		DeduplicationID: j.msg.DeduplicationID}
	// The verdict carries the item: one ruleset per message, even across a reload.
	j.opts = [3]engine.EvalOption{engine.ForStorage, engine.WithMessage(&j.meta), engine.WithTransport(j.src.transport)}
	v := w.cfg.Engine.Evaluate(w.hardCtx, j.msg.Body, j.opts[:]...)
	if v == nil {
		panic("engine returned no verdict")
	}
	f.verdict = v
	if j.msg.AttributeNamesKnown {
		if c, ok := w.cfg.Engine.(AttributeChecker); ok && !c.AttributesCoveredBy(j.msg.AttributeNames) {
			f.stale = true // judged without an attribute the rules read: not stored
			return f
		}
	}
	var item Item
	var err error
	switch v.Outcome {
	case engine.Valid:
		item, err = w.validItem(j.msg, v)
	case engine.Invalid:
		item = w.rejectedItem(j.msg, v)
	default:
		return f
	}
	if err != nil {
		f.buildErr = err
		return f
	}
	f.wrote, f.item = true, item
	f.putErr = w.put(item)
	return f
}

// put queues item for the next batched Sink.Put and waits for its own result.
func (w *Worker) put(item Item) error {
	ch := make(chan error, 1)
	w.puts.Add(item, func(err error) { ch <- err })
	return <-ch
}

// track registers a received message for visibility extension.
func (w *Worker) track(j *job, now time.Time) {
	w.regMu.Lock()
	j.extendAt = now.Add(w.cfg.VisibilityTimeout / 2)
	w.registry[j] = struct{}{}
	w.regMu.Unlock()
}

// untrack ends the extension of a message; called before its final action is queued,
// so that no extension can be queued after it.
func (w *Worker) untrack(j *job) {
	w.regMu.Lock()
	delete(w.registry, j)
	w.regMu.Unlock()
}

// extendLoop extends, every tick, the visibility of each in-flight message that has
// been held for half the visibility timeout, by another visibility timeout.
func (w *Worker) extendLoop(stop <-chan struct{}) {
	t := time.NewTicker(max(w.cfg.VisibilityTimeout/8, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			w.extendDue()
		}
	}
}

func (w *Worker) extendDue() {
	now := time.Now()
	w.regMu.Lock()
	defer w.regMu.Unlock()
	for j := range w.registry {
		if now.Before(j.extendAt) {
			continue
		}
		j.extendAt = now.Add(w.cfg.VisibilityTimeout / 2)
		w.stats.extended.Add(1)
		id := j.msg.ID
		j.src.vis.Add(Visibility{Message: j.msg, Delay: w.cfg.VisibilityTimeout}, func(err error) {
			var re *RetryableError
			switch {
			case err == nil:
			case errors.As(err, &re):
				// Sent again a few times already (callretry.go).
				w.log.Warn("visibility extension failed: the message may be delivered again if it outlasts its timeout",
					slog.String("message_id", id), slog.String("error", err.Error()))
			default:
				// Harmless when the message was settled meanwhile.
				w.log.Debug("visibility extension failed", slog.String("message_id", id), slog.String("error", err.Error()))
			}
		})
	}
}
