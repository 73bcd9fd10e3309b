package main

import (
	"strings"
	"testing"

	"faasrt.dev/guest"
)

func TestEverySourceDraws(t *testing.T) {
	for _, args := range [][]string{nil, {"faasrt"}, {"math/rand/v2"}, {"math/rand"}, {"crypto/rand"}} {
		var out strings.Builder
		if err := run(args, &out); err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		if fields := strings.Fields(out.String()); len(fields) != 2 || !strings.HasSuffix(out.String(), "\n") {
			t.Errorf("%q printed %q", args, out.String())
		}
	}
}

func TestUnknownSourceIsAUsageError(t *testing.T) {
	for _, args := range [][]string{{"dice"}, {"faasrt", "extra"}} {
		err := run(args, &strings.Builder{})
		if got := faasrt.ExitStatus(err); got != faasrt.UsageStatus {
			t.Errorf("%q: status %d (%v)", args, got, err)
		}
	}
}
