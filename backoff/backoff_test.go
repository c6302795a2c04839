package backoff

import (
	"math"
	"testing"
	"time"
)

func TestDelay(t *testing.T) {
	engine := Policy{Initial: 30 * time.Second, Multiplier: 2, Max: 5 * time.Minute, Jitter: 0.2}
	receive := Policy{Initial: 200 * time.Millisecond, Multiplier: 2, Max: 20 * time.Second, Jitter: 0.25}
	uncapped := Policy{Initial: 100 * time.Millisecond, Multiplier: 2}
	for _, tt := range []struct {
		name string
		p    Policy
		n    int
		u    float64
		want time.Duration
	}{
		{"first failure waits Initial", engine, 1, 0, 30 * time.Second},
		{"second doubles", engine, 2, 0, time.Minute},
		{"fourth", engine, 4, 0, 4 * time.Minute},
		{"capped", engine, 5, 0, 5 * time.Minute},
		{"far past the cap", engine, 1000, 0, 5 * time.Minute},
		{"past float64's range", engine, 1 << 30, 0, 5 * time.Minute},
		{"n below 1 counts as 1", engine, 0, 0, 30 * time.Second},
		{"negative n", engine, -3, 0, 30 * time.Second},
		{"jitter shortens by Jitter × u", engine, 2, 0.5, 54 * time.Second},
		{"jitter at its most", engine, 2, 1, 48 * time.Second},
		{"jitter after the cap", engine, 9, 0.5, 270 * time.Second},
		{"doubling", receive, 3, 0, 800 * time.Millisecond},
		{"doubling, capped", receive, 8, 0, 20 * time.Second},
		{"a quarter of jitter", receive, 1, 1, 150 * time.Millisecond},
		{"no cap", uncapped, 3, 0, 400 * time.Millisecond},
		{"no cap, no overflow", uncapped, 200, 0, time.Duration(math.Nextafter(1<<63, 0))},
		{"no jitter ignores u", uncapped, 2, 0.9, 200 * time.Millisecond},
		{"multiplier 1.5", Policy{Initial: time.Second, Multiplier: 1.5, Max: time.Minute}, 3, 0, 2250 * time.Millisecond},
		{"multiplier 1: constant", Policy{Initial: time.Second, Multiplier: 1}, 50, 0, time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Delay(tt.n, tt.u); got != tt.want {
				t.Errorf("%+v.Delay(%d, %v) = %v, want %v", tt.p, tt.n, tt.u, got, tt.want)
			}
		})
	}
}

// Every delay lies in [(1-Jitter)·d, d] where d is the delay without jitter, and the
// un-jittered delays never shrink as failures add up.
func TestDelayBounds(t *testing.T) {
	p := Policy{Initial: 20 * time.Millisecond, Multiplier: 2, Max: 500 * time.Millisecond, Jitter: 0.3}
	prev := time.Duration(0)
	for n := 1; n <= 64; n++ {
		d := p.Delay(n, 0)
		if d < prev {
			t.Errorf("Delay(%d) = %v, less than Delay(%d) = %v", n, d, n-1, prev)
		}
		prev = d
		for u := 0.0; u < 1; u += 0.05 {
			j := p.Delay(n, u)
			if j > d || float64(j) < float64(d)*(1-p.Jitter)-1 {
				t.Errorf("Delay(%d, %v) = %v outside [%v, %v]", n, u, j, time.Duration(float64(d)*(1-p.Jitter)), d)
			}
		}
	}
}
