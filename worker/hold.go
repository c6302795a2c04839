package worker

import (
	"log/slog"

	"golang.org/x/sync/semaphore"
)

// A message caught by a deployment error is held rather than made visible again: a
// redelivery would raise its ApproximateReceiveCount, and a pause that flaps (a table
// that only some messages need is missing) would push innocent messages past the
// queue's maxReceiveCount into its redrive dead-letter queue. A held message keeps its
// in-flight slot and stays tracked, so the keeper extends its visibility; it is the next
// probe, or is handled again as soon as intake resumes. Only when the worker stops is it
// made visible again. As held messages may take every slot, a poller waiting for one
// gives way when intake pauses (acquire in loop.go), so that the probe still goes out.

// hold keeps j until intake resumes. It is handled again at once when intake resumed
// meanwhile, and made visible again when the worker is stopping.
func (w *Worker) hold(j *job, sem *semaphore.Weighted) {
	j.handedOff = true
	w.holdMu.Lock()
	if w.pollersDone { // stopping: no one will handle it again
		w.holdMu.Unlock()
		w.release(j, sem, false)
		return
	}
	w.regMu.Lock()
	w.registry[j] = struct{}{} // its extension schedule (extendAt) is kept
	w.regMu.Unlock()
	if w.brk.isOpen() {
		w.parked = append(w.parked, j)
	} else {
		w.jobs <- j // never blocks: the job keeps its slot, and the channel holds MaxInFlight
	}
	w.holdMu.Unlock()
	w.groupHeld(j, sem)
	w.log.Debug("message held through a deployment error", slog.String("message_id", j.msg.ID), slog.String("source", j.src.Name()))
}

// resume hands every held message to the workers again; called when intake resumes.
func (w *Worker) resume() {
	w.holdMu.Lock()
	defer w.holdMu.Unlock()
	if w.pollersDone { // drain releases them
		return
	}
	for _, j := range w.parked {
		w.jobs <- j
	}
	w.parked = nil
}

// probeHeld hands the oldest held message to the workers as the probe, and reports
// whether there was one (else the probe is a newly received message).
func (w *Worker) probeHeld() bool {
	w.holdMu.Lock()
	defer w.holdMu.Unlock()
	if w.pollersDone || len(w.parked) == 0 {
		return false
	}
	j := w.parked[0]
	w.parked = w.parked[1:]
	w.jobs <- j
	return true
}
