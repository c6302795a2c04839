package workertest

import (
	"sync"
)

// Op names an operation of a fake, for injected failures and call counts.
type Op string

// The fakes' operations.
const (
	OpReceive       Op = "receive"
	OpAck           Op = "ack"
	OpSetVisibility Op = "set_visibility"
	OpDeadLetter    Op = "dead_letter"
	OpPut           Op = "put"
	OpLookup        Op = "lookup"
)

// faults holds injected failures: whole calls (the next n calls of an operation fail)
// and single entries (a message id or item key fails in every call until cleared).
type faults struct {
	mu    sync.Mutex
	calls map[Op][]callFault
	ents  map[Op]map[string]error
}

type callFault struct {
	err   error
	times int // < 0: until cleared
}

func (f *faults) failCalls(op Op, err error, times int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = make(map[Op][]callFault)
	}
	if times == 0 {
		times = -1
	}
	f.calls[op] = append(f.calls[op], callFault{err: err, times: times})
}

func (f *faults) failEntry(op Op, id string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ents == nil {
		f.ents = make(map[Op]map[string]error)
	}
	if f.ents[op] == nil {
		f.ents[op] = make(map[string]error)
	}
	f.ents[op][id] = err
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls, f.ents = nil, nil
}

// call returns the error injected into this call of op, consuming one use of it.
func (f *faults) call(op Op) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	fs := f.calls[op]
	if len(fs) == 0 {
		return nil
	}
	err := fs[0].err
	if fs[0].times > 0 {
		fs[0].times--
		if fs[0].times == 0 {
			f.calls[op] = fs[1:]
		}
	}
	return err
}

// entry returns the error injected for one entry of op.
func (f *faults) entry(op Op, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ents[op][id]
}
