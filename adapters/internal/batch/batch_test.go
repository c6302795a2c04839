package batch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"eventproc/worker"
)

func TestSendRetriesOnlyRetryableFailures(t *testing.T) {
	var calls [][]int
	n, err := Send(context.Background(), 4, func(ctx context.Context, pending []int) (int, []Failure, error) {
		calls = append(calls, slices.Clone(pending))
		switch len(calls) {
		case 1: // the whole request throttled
			return 0, nil, &worker.RetryableError{Err: errors.New("throttled")}
		case 2: // entries 1 and 3 fail for the service's reasons
			return 2, []Failure{{Index: 1, Err: errors.New("busy")}, {Index: 3, Err: errors.New("busy")}}, nil
		}
		return len(pending), nil, nil
	})
	if err != nil || n != 4 {
		t.Fatalf("Send = %d, %v", n, err)
	}
	if fmt.Sprint(calls) != "[[0 1 2 3] [0 1 2 3] [1 3]]" {
		t.Errorf("calls = %v", calls)
	}
}

func TestSendStops(t *testing.T) {
	fatal := &worker.FatalError{Err: errors.New("no such queue")}
	calls := 0
	if _, err := Send(context.Background(), 2, func(context.Context, []int) (int, []Failure, error) {
		calls++
		return 0, nil, fatal
	}); !errors.Is(err, fatal) || calls != 1 {
		t.Errorf("a fatal request error: %v after %d calls", err, calls)
	}

	refused := &EntryError{Code: "InvalidParameter", SenderFault: true}
	calls = 0
	n, err := Send(context.Background(), 3, func(context.Context, []int) (int, []Failure, error) {
		calls++
		return 2, []Failure{{Index: 2, Err: refused.Classified(), SenderFault: true}}, nil
	})
	if n != 2 || !errors.Is(err, refused) || calls != 1 || errors.As(err, new(*worker.RetryableError)) {
		t.Errorf("a refused entry: %d, %v after %d calls", n, err, calls)
	}

	calls = 0
	busy := (&EntryError{Code: "Throttled"}).Classified()
	n, err = Send(context.Background(), 1, func(context.Context, []int) (int, []Failure, error) {
		calls++
		return 0, []Failure{{Index: 0, Err: busy}}, nil
	})
	if n != 0 || !errors.Is(err, busy) || calls != attempts || !errors.As(err, new(*worker.RetryableError)) {
		t.Errorf("an entry that keeps failing: %d, %v after %d calls", n, err, calls)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Send(ctx, 1, func(context.Context, []int) (int, []Failure, error) {
		return 0, []Failure{{Index: 0, Err: busy}}, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled send: %v", err)
	}
}
