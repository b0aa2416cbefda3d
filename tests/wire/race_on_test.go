//go:build race

package wire

// raceOn is true when the race detector slows everything down.
const raceOn = true
