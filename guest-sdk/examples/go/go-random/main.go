// Prints one random 64-bit number per invocation, even when pre-initialized; a Go reactor.
//
// A test fixture for the guest ABI's promise that no two invocations share a
// "random" sequence, and the Go twin of the Rust example random. It prints
// "<fresh> <at-init>" and a newline, both in decimal: fresh is drawn in this
// invocation, from the source named by the argument; at-init was drawn by
// the init hook, so a snapshot freezes it (the same in every invocation of
// a pre-initialized module, a new one in every invocation otherwise). The
// sources: faasrt (the default: faasrt.Rand), math/rand/v2 or math/rand
// (their global functions, which draw from the Go runtime's random state),
// crypto/rand.
package main

import (
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	randv1 "math/rand"
	"math/rand/v2"

	"faasrt.dev/guest"
)

// Sources lists the accepted arguments.
var sources = map[string]func() (uint64, error){
	"faasrt":       func() (uint64, error) { return faasrt.Rand().Uint64(), nil },
	"math/rand/v2": func() (uint64, error) { return rand.Uint64(), nil },
	"math/rand":    func() (uint64, error) { return randv1.Uint64(), nil },
	"crypto/rand": func() (uint64, error) {
		var b [8]byte
		if _, err := crand.Read(b[:]); err != nil {
			return 0, err
		}
		return binary.LittleEndian.Uint64(b[:]), nil
	},
}

// drawnAtInit is drawn by the init hook.
var drawnAtInit uint64

func init() {
	faasrt.OnInit(func() error {
		drawnAtInit = faasrt.Rand().Uint64()
		return nil
	})
	faasrt.Handle(func() error {
		return run(faasrt.Args(), faasrt.Output())
	})
}

func run(args []string, out io.Writer) error {
	source := "faasrt"
	if len(args) > 0 {
		source = args[0]
	}
	draw, ok := sources[source]
	if !ok || len(args) > 1 {
		return faasrt.Errorf(faasrt.UsageStatus, "usage: go-random [faasrt|math/rand/v2|math/rand|crypto/rand]")
	}
	v, err := draw()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, v, drawnAtInit)
	return err
}

func main() { faasrt.Main() }
