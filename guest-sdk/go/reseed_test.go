package faasrt

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unsafe"
)

// math/rand/v2's ChaCha8 is the runtime's generator (internal/chacha8rand)
// with a few fields after it, so it stands in for m.chacha8 here: these
// tests check the layout and the invariants that reseed.go relies on
// against the real implementation, on any platform.

// fakeM places a generator at an 8-aligned offset inside other memory, like
// m.chacha8 inside the runtime's m.
type fakeM struct {
	before [37]uint64
	gen    rand.ChaCha8
	after  [16]uint64
}

func (m *fakeM) memory() []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(m)), unsafe.Sizeof(*m))
}

func (m *fakeM) genOffset() int { return int(unsafe.Offsetof(m.gen)) }

func (m *fakeM) state() []byte { return m.memory()[m.genOffset():][:stateSpan] }

func newFakeM(seed byte) *fakeM {
	m := &fakeM{}
	m.gen = *rand.NewChaCha8([32]byte{seed, 1, 2, 3})
	for i := range m.before {
		m.before[i] = 0x5555_5555_5555_5555
	}
	return m
}

func TestTheStateIsFoundAfterAnyNumberOfDraws(t *testing.T) {
	m := newFakeM(7)
	// 300 draws cross every counter value, refills and reseeds (c = 12,
	// n = 28) several times.
	for draw := 0; draw < 300; draw++ {
		v := m.gen.Uint64()
		if !statePlausible(m.state()) {
			t.Fatalf("draw %d: state implausible: i=%d n=%d c=%d", draw,
				le32(m.state(), stateIOff), le32(m.state(), stateNOff), le32(m.state(), stateCOff))
		}
		found := stateCandidates(m.memory(), v)
		if len(found) != 1 || found[0] != m.genOffset() {
			t.Fatalf("draw %d: candidates %v, want [%d]", draw, found, m.genOffset())
		}
		before := bytes.Clone(m.state())
		if w := m.gen.Uint64(); !drawMatches(before, m.state(), w) {
			t.Fatalf("draw %d: the next draw does not match the state", draw)
		}
	}
}

func TestCandidatesRejectACopyOfTheValue(t *testing.T) {
	m := newFakeM(9)
	v := m.gen.Uint64()
	m.before[3] = v // a stray copy, as on a stack
	found := stateCandidates(m.memory(), v)
	if len(found) != 1 || found[0] != m.genOffset() {
		t.Errorf("candidates %v, want [%d]", found, m.genOffset())
	}
	if got := stateCandidates(m.memory(), v+1); len(got) != 0 {
		t.Errorf("a value never drawn matched at %v", got)
	}
}

func TestDrawMatchesRejectsOtherValues(t *testing.T) {
	m := newFakeM(3)
	m.gen.Uint64()
	before := bytes.Clone(m.state())
	w := m.gen.Uint64()
	if drawMatches(before, m.state(), w^1) {
		t.Error("a wrong value matched")
	}
	if drawMatches(m.state(), m.state(), w) {
		t.Error("a state that did not move matched")
	}
}

func TestMixEntropyChangesTheSequence(t *testing.T) {
	for draws := 0; draws < 40; draws++ {
		m := newFakeM(1)
		for i := 0; i < draws; i++ {
			m.gen.Uint64()
		}
		twin := *m // what a second instance of the snapshot would hold
		entropy := bytes.Repeat([]byte{0xa5}, reseedEntropy)
		mixEntropy(m.state(), entropy, false)
		if !statePlausible(m.state()) {
			t.Fatalf("after %d draws: the mixed state is implausible", draws)
		}
		same := 0
		for i := 0; i < 64; i++ {
			if m.gen.Uint64() == twin.gen.Uint64() {
				same++
			}
		}
		if same > 0 {
			t.Errorf("after %d draws: %d of 64 values equal to the unseeded twin's", draws, same)
		}
		// The first draw after the mix starts a new block.
		m2 := newFakeM(1)
		for i := 0; i < draws; i++ {
			m2.gen.Uint64()
		}
		mixEntropy(m2.state(), entropy, false)
		v := m2.gen.Uint64()
		if le32(m2.state(), stateIOff) != 1 || le64(m2.state(), 0) != v {
			t.Errorf("after %d draws: the first draw after the mix is not a refill", draws)
		}
	}
}

func TestMixEntropyDependsOnTheEntropy(t *testing.T) {
	a, b := newFakeM(1), newFakeM(1)
	ea := bytes.Repeat([]byte{1}, reseedEntropy)
	eb := bytes.Repeat([]byte{2}, reseedEntropy)
	mixEntropy(a.state(), ea, true)
	mixEntropy(b.state(), eb, true)
	if a.gen.Uint64() == b.gen.Uint64() {
		t.Error("different entropy gave the same value")
	}
	if le32(a.state(), cheaprandOff) == le32(b.state(), cheaprandOff) {
		t.Error("cheaprand's word was not mixed")
	}
}

func TestCheaprandStep(t *testing.T) {
	next, out := cheaprandStep(0)
	if next != cheaprandInc {
		t.Errorf("state %#x", next)
	}
	if !cheaprandMatches(0, next, out) || cheaprandMatches(0, next, out+1) || cheaprandMatches(1, next, out) {
		t.Error("cheaprandMatches")
	}
}
