// Copies faasin to faasout with ASCII letters uppercased, streaming; a Go reactor.
//
// The Go twin of the Rust example upper: other bytes, including those of
// multi-byte UTF-8 characters, pass through unchanged, and each chunk read
// is written before the next read, so the function works on streams of any
// length in constant memory.
package main

import (
	"io"

	"faasrt.dev/guest"
)

const chunkSize = 64 << 10

func init() {
	faasrt.Handle(func() error {
		return upper(faasrt.Input(), faasrt.Output())
	})
}

// upper copies in to out, uppercasing ASCII letters.
func upper(in io.Reader, out io.Writer) error {
	buf := make([]byte, chunkSize)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			upperASCII(buf[:n])
			if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

func upperASCII(b []byte) {
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
}

func main() { faasrt.Main() }
