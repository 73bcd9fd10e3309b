// Counts how often each input line (a name) was seen, across invocations, in the function's key-value state; a Go reactor.
//
// The Go twin of the Rust example counter: each line of faasin is a name,
// its count (key "count/NAME") goes up by one, and "NAME COUNT" goes to
// faasout. With the argument --fail it does the same and then fails, so
// its writes are dropped: the next invocation counts from where the last
// successful one left off.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"faasrt.dev/guest"
)

func init() {
	faasrt.Handle(func() error {
		return count(faasrt.Args(), faasrt.Input(), faasrt.Output(), functionState{})
	})
}

// counts is where the counts live: the function's state, a map in tests.
type counts interface {
	get(key []byte) ([]byte, bool, error)
	put(key, value []byte) error
}

type functionState struct{}

func (functionState) get(key []byte) ([]byte, bool, error) { return faasrt.KvGet(key) }
func (functionState) put(key, value []byte) error          { return faasrt.KvPut(key, value) }

// count counts each line of in and writes "NAME COUNT" to out.
func count(args []string, in io.Reader, out io.Writer, store counts) error {
	fail := false
	switch {
	case len(args) == 0:
	case len(args) == 1 && args[0] == "--fail":
		fail = true
	default:
		return errors.New("usage: go-counter [--fail]")
	}
	lines := bufio.NewScanner(in)
	for lines.Scan() {
		name := bytes.TrimSuffix(lines.Bytes(), []byte("\r"))
		if len(name) == 0 {
			continue
		}
		key := append([]byte("count/"), name...)
		n := uint64(0)
		if stored, ok, err := store.get(key); err != nil {
			return err
		} else if ok {
			n, _ = strconv.ParseUint(string(stored), 10, 64)
		}
		n++
		if err := store.put(key, []byte(strconv.FormatUint(n, 10))); err != nil {
			return err
		}
		if _, err := fmt.Fprintf(out, "%s %d\n", name, n); err != nil {
			return err
		}
	}
	if err := lines.Err(); err != nil {
		return err
	}
	if fail {
		return errors.New("failing on purpose (--fail): these counts are not kept")
	}
	return nil
}

func main() { faasrt.Main() }
