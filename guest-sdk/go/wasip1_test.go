//go:build wasip1

package faasrt

import (
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// These tests run the WASI side for real, in wasmtime (see
// testtools/go_wasip1_wasm_exec). A test binary is a WASI command, not a
// snapshot, so the runtime's own copies of argv and the environment are
// fresh and serve as the expected values.

func TestArgsComeFromWASI(t *testing.T) {
	got := platformArgs()
	if len(got) == 0 || !slices.Equal(got, os.Args) {
		t.Errorf("args_get gave %q, the runtime %q", got, os.Args)
	}
	if !slices.Equal(Args(), os.Args[1:]) || FunctionName() != os.Args[0] {
		t.Errorf("Args() = %q, FunctionName() = %q", Args(), FunctionName())
	}
}

func TestEnvironComesFromWASI(t *testing.T) {
	got, ok := platformEnviron()
	if !ok || !slices.Equal(got, os.Environ()) {
		t.Errorf("environ_get gave %q (ok=%v), the runtime %q", got, ok, os.Environ())
	}
}

func TestRefreshProcessStateKeepsFreshValues(t *testing.T) {
	args, env := slices.Clone(os.Args), os.Environ()
	os.Args = []string{"stale", "args"}
	os.Setenv("FAASRT_STALE", "1")
	refreshProcessState()
	if !slices.Equal(os.Args, args) {
		t.Errorf("os.Args = %q, want %q", os.Args, args)
	}
	if _, stale := os.LookupEnv("FAASRT_STALE"); stale || !slices.Equal(os.Environ(), env) {
		t.Errorf("environment not refreshed: %q", os.Environ())
	}
}

// TestRuntimeRandIsFoundAndReseeded plays a snapshot: it saves the runtime's
// random state, draws, restores the state (as a second instance of the
// snapshot would start) and checks that the same values come back unless
// the state is reseeded.
func TestRuntimeRandIsFoundAndReseeded(t *testing.T) {
	if !locateRuntimeRand() {
		t.Fatal("the runtime's random state was not found")
	}
	if !cheaprandFound {
		t.Error("m.cheaprand was not found after the state")
	}
	st := linearMemory(stateAddr, stateAddr+stateSpan)
	saved := slices.Clone(st)
	draw := func() [8]uint64 {
		var v [8]uint64
		for i := range v {
			v[i] = rand.Uint64()
		}
		return v
	}
	first := draw()
	copy(st, saved)
	if again := draw(); again != first {
		t.Fatalf("restoring the located state did not replay the values: %v, then %v", first, again)
	}
	copy(st, saved)
	if !reseedRuntimeRand() {
		t.Fatal("reseedRuntimeRand failed")
	}
	reseeded := draw()
	for i := range reseeded {
		if reseeded[i] == first[i] {
			t.Errorf("value %d repeats after the reseed: %v", i, reseeded)
		}
	}
	copy(st, saved)
	if !reseedRuntimeRand() {
		t.Fatal("second reseedRuntimeRand failed")
	}
	if other := draw(); other == reseeded {
		t.Error("two reseeds gave the same values")
	}
}
