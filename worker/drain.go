package worker

import (
	"log/slog"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// drain stops the worker after its context ended:
//
//  1. the pollers stop receiving: no new long poll starts, and the ones in progress
//     finish (at most the receive wait), so no message is left with a poll nobody reads;
//  2. messages received but not started, and those held through a deployment error,
//     are made visible again at once;
//  3. messages being handled finish, within the grace period; when it runs out their
//     writes are cancelled and they are made visible again (a write that did land is
//     idempotent, so the redelivery does not store it twice);
//  4. the acks and visibility changes still waiting are flushed.
func (w *Worker) drain(pollers, workers *sync.WaitGroup, sem *semaphore.Weighted, extStop, extDone chan struct{}) {
	w.draining.Store(true)
	start := time.Now()
	w.log.Info("draining", slog.Duration("grace_period", w.cfg.GracePeriod))
	grace := time.AfterFunc(w.cfg.GracePeriod, w.hardCancel)
	defer grace.Stop()

	pollers.Wait()
	w.holdMu.Lock()
	w.pollersDone = true
	held := append(w.held, w.parked...)
	w.held, w.parked = nil, nil
	w.holdMu.Unlock()
	for _, j := range held {
		w.release(j, sem, false)
	}
	close(w.jobs)
	done := make(chan struct{})
	go func() {
		workers.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-w.hardCtx.Done():
		w.log.Warn("grace period over: cancelling unfinished work")
		select {
		case <-done:
		case <-time.After(w.cfg.CallTimeout):
			w.log.Error("workers did not stop in time; their messages become visible when their timeout ends")
		}
	}
	close(extStop)
	<-extDone
	w.puts.Close()
	var wg sync.WaitGroup
	for _, s := range w.sources {
		wg.Go(func() {
			// Acks first: a FIFO group's next message waits for its head's delete, and
			// is released (a visibility change) when the worker has stopped.
			s.acks.Close()
			s.vis.Close()
		})
	}
	wg.Wait()
	st := w.Stats()
	w.log.Info("drained", slog.Duration("took", time.Since(start)), slog.Int64("received", st.Received),
		slog.Int64("processed", st.Outcomes[Processed]), slog.Int64("rejected", st.Outcomes[Rejected]),
		slog.Int64("released", st.Outcomes[Released]))
}
