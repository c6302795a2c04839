package backoff_test

import (
	"fmt"
	"time"

	"eventproc/backoff"
)

// The delays of the rules' default retry policy, without jitter and with the most.
func ExamplePolicy_Delay() {
	p := backoff.Policy{Initial: 30 * time.Second, Multiplier: 2, Max: 5 * time.Minute, Jitter: 0.2}
	for n := 1; n <= 5; n++ {
		fmt.Println(n, p.Delay(n, 0), p.Delay(n, 1))
	}
	// Output:
	// 1 30s 24s
	// 2 1m0s 48s
	// 3 2m0s 1m36s
	// 4 4m0s 3m12s
	// 5 5m0s 4m0s
}
