package faasrt

import (
	"encoding/binary"
	"math/bits"
)

// The Go runtime keeps its random state per M (an OS thread; GOARCH=wasm has
// exactly one, m0): a ChaCha8 generator, internal/chacha8rand.State, in the
// field m.chacha8, followed by m.cheaprand. Package runtime offers no way to
// reseed them, and a snapshot freezes them, so every instance made from the
// snapshot would draw the same values from math/rand, math/rand/v2, map
// seeds and select. The SDK finds the state in linear memory once, at
// snapshot time, by its structure and by watching it change as values are
// drawn, and mixes fresh entropy into it at the start of every invocation.
// Each step is verified; if a check fails (a Go release changed the layout)
// nothing is written and GlobalRandFresh reports false.
//
// The layout, from internal/chacha8rand (Go 1.22 to 1.27):
//
//	type State struct {
//		buf  [32]uint64 // offset 0
//		seed [4]uint64  // offset 256
//		i    uint32     // offset 288: next index into buf
//		n    uint32     // offset 292: valid entries in buf
//		c    uint32     // offset 296: block counter, a multiple of 4 below 16
//	}
//
// (300 bytes, padded to 304 by its 8-byte alignment), and from runtime.m:
// chacha8 chacha8rand.State; cheaprand uint32 (offset 304 from the state).
const (
	stateBufWords = 32
	stateSeedOff  = 256
	stateIOff     = 288
	stateNOff     = 292
	stateCOff     = 296
	cheaprandOff  = 304
	// stateSpan is what the SDK reads and writes: the state and cheaprand.
	stateSpan = cheaprandOff + 4

	chachaCtrInc = 4
	chachaCtrMax = 16
	chachaReseed = 4

	// cheaprandInc is what runtime.cheaprand adds to m.cheaprand per call
	// on 64-bit platforms (wasm is one).
	cheaprandInc = 0x53c5ca59
	// reseedEntropy is how many random bytes a reseed mixes in: the
	// ChaCha8 seed and cheaprand's state.
	reseedEntropy = 32 + 4
)

func le32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

// statePlausible reports whether st (at least stateSpan bytes) holds a
// ChaCha8 state in a state it can be in between two draws.
func statePlausible(st []byte) bool {
	if len(st) < stateSpan {
		return false
	}
	i, n, c := le32(st, stateIOff), le32(st, stateNOff), le32(st, stateCOff)
	if c%chachaCtrInc != 0 || c >= chachaCtrMax {
		return false
	}
	// Refill leaves the last words of the block before a reseed unused.
	wantN := uint32(stateBufWords)
	if c == chachaCtrMax-chachaCtrInc {
		wantN -= chachaReseed
	}
	return n == wantN && i <= n
}

// stateCandidates returns the offsets in mem (8-aligned, as Go aligns the
// state) of plausible ChaCha8 states whose last draw returned v: buf[i-1] is
// v.
func stateCandidates(mem []byte, v uint64) []int {
	var found []int
	for off := 0; off+8 <= len(mem); off += 8 {
		if le64(mem, off) != v {
			continue
		}
		for idx := 0; idx < stateBufWords; idx++ {
			base := off - 8*idx
			if base < 0 {
				break
			}
			if base+stateSpan > len(mem) {
				continue
			}
			st := mem[base : base+stateSpan]
			if le32(st, stateIOff) == uint32(idx+1) && statePlausible(st) {
				found = append(found, base)
			}
		}
	}
	return found
}

// drawMatches reports whether st behaved like the generator that produced
// v: before is a copy of st taken just before the draw, and st is the same
// memory after it.
func drawMatches(before, st []byte, v uint64) bool {
	if !statePlausible(before) || !statePlausible(st) {
		return false
	}
	i, n := le32(before, stateIOff), le32(before, stateNOff)
	if i < n {
		// An ordinary draw: the next buffered word, the index moves on.
		return le64(before, 8*int(i)) == v && le32(st, stateIOff) == i+1
	}
	// The buffer was used up: Refill made a new block and the draw took
	// its first word.
	return le32(st, stateIOff) == 1 && le64(st, 0) == v
}

// cheaprandStep is runtime.cheaprand on a 64-bit platform: the new state
// and the value returned.
func cheaprandStep(state uint32) (uint32, uint32) {
	state += cheaprandInc
	hi, lo := bits.Mul32(state, state^0x74743c1b)
	return state, hi ^ lo
}

// cheaprandMatches reports whether the cheaprand word after the state went
// from before to after in one call that returned v.
func cheaprandMatches(before, after, v uint32) bool {
	next, out := cheaprandStep(before)
	return after == next && out == v
}

// mixEntropy reseeds the state in st (stateSpan bytes) with entropy
// (reseedEntropy bytes): it is XORed into the ChaCha8 seed, the counter is
// reset and the buffer marked used up, so the next draw computes a new block
// from the new seed; withCheaprand also mixes entropy into cheaprand.
func mixEntropy(st, entropy []byte, withCheaprand bool) {
	for k := 0; k < 4; k++ {
		off := stateSeedOff + 8*k
		binary.LittleEndian.PutUint64(st[off:], le64(st, off)^le64(entropy, 8*k))
	}
	// c = 0 (Refill moves it to 4): were it left at 12, Refill would reseed
	// from the old buffer and undo the new seed.
	binary.LittleEndian.PutUint32(st[stateCOff:], 0)
	binary.LittleEndian.PutUint32(st[stateNOff:], stateBufWords)
	binary.LittleEndian.PutUint32(st[stateIOff:], stateBufWords)
	if withCheaprand {
		binary.LittleEndian.PutUint32(st[cheaprandOff:], le32(st, cheaprandOff)^le32(entropy, 32))
	}
}
