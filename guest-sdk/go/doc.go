// Package faasrt is the Go SDK for faasrt functions.
//
// A faasrt function written in Go is a WASI preview-1 reactor: a module
// built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o fn.wasm .
//
// that exports handle (type () -> i32). For each invocation the runtime
// makes a fresh instance, runs _initialize (the Go runtime's start and every
// package's init) unless the module was pre-initialized, then calls handle,
// whose result is the exit status. A Go command (_start) cannot be
// pre-initialized, which is why the SDK builds reactors.
//
// The function registers its handler from an init function, and main stays
// empty (a reactor never runs it):
//
//	package main
//
//	import (
//		"fmt"
//
//		"faasrt.dev/guest"
//	)
//
//	func init() {
//		faasrt.Handle(func() error {
//			name := "world"
//			if args := faasrt.Args(); len(args) > 0 {
//				name = args[0]
//			}
//			_, err := fmt.Fprintf(faasrt.Output(), "Hello, %s!\n", name)
//			return err
//		})
//	}
//
//	func main() { faasrt.Main() }
//
// # Streams
//
// [Input] reads faasin (fd 0) until EOF; [Output] is a buffered writer on
// faasout (fd 1) that is always flushed before handle returns; [Log] and
// [Logf] write lines to the function's log (fd 2).
//
// # Exit status
//
// A handler that returns nil ends with status 0; one that returns an error
// ends with status 1 and the error's message on the log, prefixed with the
// function's name. [Exit] ends quietly with a chosen status and [Errorf]
// with a chosen status and a message. A broken pipe on faasout (the consumer
// went away) ends quietly with [BrokenPipeStatus]. A panic ends the instance
// with status 2 and a stack trace on the log, as in any Go program.
//
// # Pre-initialization
//
// Expensive set-up belongs in [OnInit]. When the module is deployed, the
// runtime pre-initializes it with wizer: _initialize runs, then the module's
// wizer-initialize export, which runs the OnInit functions, and the memory
// that results becomes the starting state of every invocation. Without
// pre-initialization the same functions run lazily before the first handler
// call, so a module gives the same outputs either way.
//
// A snapshot freezes what init saw. The SDK undoes that for each invocation
// where it can:
//
//   - [Args] and [FunctionName] read this invocation's arguments from WASI on
//     every call, and os.Args is replaced with them before the handler runs,
//     so the flag package works. The environment (os.Getenv) is refreshed
//     the same way.
//   - The Go runtime's random state, which the global functions of math/rand
//     and math/rand/v2, map iteration order, new maps' hash seeds,
//     hash/maphash.MakeSeed and select use, is reseeded from WASI random_get
//     before the handler runs ([GlobalRandFresh] tells whether that
//     worked). [Rand] is a generator of the invocation's own, always seeded
//     from random_get. crypto/rand reads random_get on every call and needs
//     nothing. Generators created during init (rand.New, maphash.Seed
//     values, a map's own seed) keep their snapshot state.
//   - The monotonic clock restarts in every instance, so a time.Time taken
//     during init compares wrongly with one taken in a handler: strip its
//     monotonic reading with t.Round(0) (wall clock) or measure from
//     [Started].
//
// The package also compiles for other platforms (os.Args, os.Stdin,
// os.Stdout and os.Stderr stand in for the WASI calls), so a function's
// logic can be tested with go test on the host and [Main] runs it as an
// ordinary command.
package faasrt
