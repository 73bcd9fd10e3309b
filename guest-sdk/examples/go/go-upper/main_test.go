package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

func TestUpper(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Hello, world 42!\n", "HELLO, WORLD 42!\n"},
		{"é ß ä", "é ß ä"},
		{"a\xff\xfeb\x00", "A\xff\xfeB\x00"},
		{"", ""},
	} {
		var out bytes.Buffer
		// One byte per read: a chunk boundary anywhere changes nothing.
		if err := upper(iotest.OneByteReader(strings.NewReader(tc.in)), &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != tc.want {
			t.Errorf("upper(%q) = %q, want %q", tc.in, out.String(), tc.want)
		}
	}
}

func TestUpperStreamsLargeInput(t *testing.T) {
	in := strings.Repeat("abc\n", 100_000)
	var out bytes.Buffer
	if err := upper(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != strings.ToUpper(in) {
		t.Error("large input not uppercased")
	}
}

func TestUpperReportsErrors(t *testing.T) {
	boom := errors.New("boom")
	if err := upper(iotest.ErrReader(boom), &bytes.Buffer{}); !errors.Is(err, boom) {
		t.Errorf("read error: got %v", err)
	}
	if err := upper(strings.NewReader("x"), failingWriter{boom}); !errors.Is(err, boom) {
		t.Errorf("write error: got %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }
