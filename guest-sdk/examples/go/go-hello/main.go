// Greets its first argument: `Hello, <name>!` (`Hello, world!` without one); a Go reactor.
//
// The Go twin of the Rust example hello. Only the first argument counts;
// faasin is not read.
package main

import (
	"fmt"
	"io"

	"faasrt.dev/guest"
)

func init() {
	faasrt.Handle(func() error {
		return greet(faasrt.Args(), faasrt.Output())
	})
}

// greet writes "Hello, <name>!" and a newline, with "world" when args is
// empty.
func greet(args []string, out io.Writer) error {
	name := "world"
	if len(args) > 0 {
		name = args[0]
	}
	_, err := fmt.Fprintf(out, "Hello, %s!\n", name)
	return err
}

func main() { faasrt.Main() }
