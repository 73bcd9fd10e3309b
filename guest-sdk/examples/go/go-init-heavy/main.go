// Builds a 1M-entry map at init, then looks up each decimal key read from faasin; a Go reactor.
//
// The Go twin of the Rust example init-heavy, for the cold-start benchmark:
// building the table costs hundreds of milliseconds, which a pre-initialized
// module pays once at deploy instead of at every invocation.
//
// The table maps every key k with 0 <= k < 1,000,000 to
// (k * 2654435761) mod 2^32, as the Rust init-heavy's does, and lookups
// answer as it does, line by line: trailing "\r" and "\n" are removed; a
// line that is a decimal u32 once surrounding whitespace is trimmed (an
// optional "+", then digits) prints "<k> -> <value>" or "<k> -> missing",
// with k in canonical decimal; any other line prints "<line> -> invalid".
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"faasrt.dev/guest"
)

// Entries is the number of keys in the table.
const Entries = 1_000_000

// multiplier is Knuth's multiplicative-hash constant, 2^32 / phi.
const multiplier = 2654435761

var table map[uint32]uint32

func init() {
	faasrt.OnInit(func() error {
		table = buildTable(Entries)
		return nil
	})
	faasrt.Handle(func() error {
		return lookup(table, faasrt.Input(), faasrt.Output())
	})
}

// value is what the table holds for key k.
func value(k uint32) uint32 {
	return uint32(uint64(k) * multiplier)
}

func buildTable(n int) map[uint32]uint32 {
	t := make(map[uint32]uint32, n)
	for k := uint32(0); k < uint32(n); k++ {
		t[k] = value(k)
	}
	return t
}

// lookup answers each line of in from t.
func lookup(t map[uint32]uint32, in io.Reader, out io.Writer) error {
	r := bufio.NewReader(in)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(line) > 0 {
			if werr := answer(t, line, out); werr != nil {
				return werr
			}
		}
		if err != nil {
			return nil // EOF
		}
	}
}

// answer writes the answer for one line.
func answer(t map[uint32]uint32, line []byte, out io.Writer) error {
	text := strings.TrimRight(string(bytes.ToValidUTF8(line, []byte("\uFFFD"))), "\r\n")
	k, ok := parseU32(strings.TrimSpace(text))
	var err error
	switch v, found := t[k]; {
	case !ok:
		_, err = fmt.Fprintf(out, "%s -> invalid\n", text)
	case found:
		_, err = fmt.Fprintf(out, "%d -> %d\n", k, v)
	default:
		_, err = fmt.Fprintf(out, "%d -> missing\n", k)
	}
	return err
}

// parseU32 parses s as Rust's u32::from_str does: an optional "+", then
// one or more ASCII digits, at most 2^32-1.
func parseU32(s string) (uint32, bool) {
	digits := strings.TrimPrefix(s, "+")
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		if digits[i] < '0' || digits[i] > '9' {
			return 0, false
		}
	}
	k, err := strconv.ParseUint(digits, 10, 32)
	return uint32(k), err == nil
}

func main() { faasrt.Main() }
