//go:build wasip1

package faasrt

import (
	"math/rand/v2"
	"unsafe"
)

// runtimeCheaprand is runtime.cheaprand, which the runtime lets other
// packages reach by linkname (it is on its list of such symbols).
//
//go:linkname runtimeCheaprand runtime.cheaprand
func runtimeCheaprand() uint32

var (
	// stateAddr is the linear-memory address of m0's ChaCha8 state, found
	// at snapshot time (0: not found). m0 is a static variable, so the
	// address holds in every instance made from the snapshot.
	stateAddr uintptr
	// cheaprandFound: the word after the state proved to be m.cheaprand.
	cheaprandFound bool

	// anchor is a static variable; memory is reached through its address.
	anchor byte
	// heapSink keeps the heap mark on the heap.
	heapSink *[16]byte
)

// linearMemory returns the bytes of linear memory at [lo, hi).
func linearMemory(lo, hi uintptr) []byte {
	p := unsafe.Pointer(&anchor)
	return unsafe.Slice((*byte)(unsafe.Add(p, int(lo)-int(uintptr(p)))), int(hi-lo))
}

// locateRuntimeRand finds the runtime's random state (see reseed.go) and
// reports whether it did. It reads the module's static data and the start
// of the heap: everything between the first page and a fresh heap object.
func locateRuntimeRand() bool {
	heapSink = new([16]byte)
	lo, hi := uintptr(4096), uintptr(unsafe.Pointer(heapSink))
	if hi <= lo {
		return false
	}
	mem := linearMemory(lo, hi)
	before := make([]byte, stateSpan)
	found := uintptr(0)
	for _, off := range stateCandidates(mem, rand.Uint64()) {
		st := mem[off : off+stateSpan]
		copy(before, st)
		if !drawMatches(before, st, rand.Uint64()) {
			continue
		}
		if found != 0 {
			return false // two generators behave alike: trust neither
		}
		found = lo + uintptr(off)
	}
	if found == 0 {
		return false
	}
	st := linearMemory(found, found+stateSpan)
	c := le32(st, cheaprandOff)
	v := runtimeCheaprand()
	cheaprandFound = cheaprandMatches(c, le32(st, cheaprandOff), v)
	stateAddr = found
	return true
}

// reseedRuntimeRand mixes fresh entropy from random_get into the state
// found at snapshot time, checks that the next draw comes from the new
// seed, and reports whether all went well.
func reseedRuntimeRand() bool {
	if stateAddr == 0 {
		return false
	}
	st := linearMemory(stateAddr, stateAddr+stateSpan)
	if !statePlausible(st) {
		return false
	}
	var entropy [reseedEntropy]byte
	if randomBytes(entropy[:]) != nil {
		return false
	}
	mixEntropy(st, entropy[:], cheaprandFound)
	v := rand.Uint64()
	return le32(st, stateIOff) == 1 && le64(st, 0) == v
}
