package faasrt

import (
	"slices"
	"testing"
)

func TestSplitVector(t *testing.T) {
	buf := []byte("go-hello\x00world\x00\x00")
	const base = 1000
	got := splitVector([]uint32{base, base + 9, base + 15}, buf, base)
	if want := []string{"go-hello", "world", ""}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSplitVectorStopsAtBadPointers(t *testing.T) {
	buf := []byte("a\x00b\x00cc")
	const base = 64
	for _, tc := range []struct {
		name string
		ptrs []uint32
		want []string
	}{
		{"below the buffer", []uint32{base, base - 1, base + 2}, []string{"a"}},
		{"past the buffer", []uint32{base + 2, base + 6}, []string{"b"}},
		{"no NUL", []uint32{base, base + 4}, []string{"a"}},
		{"empty", nil, []string{}},
	} {
		if got := splitVector(tc.ptrs, buf, base); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSplitEnv(t *testing.T) {
	for _, tc := range [][3]string{
		{"A=1", "A", "1"},
		{"A=1=2", "A", "1=2"},
		{"A=", "A", ""},
		{"A", "A", ""},
	} {
		if k, v := splitEnv(tc[0]); k != tc[1] || v != tc[2] {
			t.Errorf("splitEnv(%q) = %q, %q", tc[0], k, v)
		}
	}
}

func TestLogLineEndsWithOneNewline(t *testing.T) {
	for in, want := range map[string]string{"x": "x\n", "x\n": "x\n", "": "\n", "a\nb": "a\nb\n"} {
		if got := string(logLine(in)); got != want {
			t.Errorf("logLine(%q) = %q, want %q", in, got, want)
		}
	}
}
