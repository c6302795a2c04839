//go:build race

package engine

// raceEnabled: the race detector's sync.Pool drops items at random, so allocation
// counts mean nothing under it; make test also runs the allocation tests without it.
const raceEnabled = true
