package main

import (
	"bytes"
	"strings"
	"testing"
)

type mapCounts map[string][]byte

func (m mapCounts) get(key []byte) ([]byte, bool, error) {
	v, ok := m[string(key)]
	return v, ok, nil
}

func (m mapCounts) put(key, value []byte) error {
	m[string(key)] = append([]byte(nil), value...)
	return nil
}

func TestCountsCarryOverBetweenRuns(t *testing.T) {
	store := mapCounts{}
	var out bytes.Buffer
	if err := count(nil, strings.NewReader("ann\nbob\nann\n"), &out, store); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "ann 1\nbob 1\nann 2\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	out.Reset()
	if err := count(nil, strings.NewReader("ann\r\n\n"), &out, store); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "ann 3\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestFailAndUsage(t *testing.T) {
	if err := count([]string{"--fail"}, strings.NewReader("x\n"), &bytes.Buffer{}, mapCounts{}); err == nil {
		t.Fatal("--fail must fail")
	}
	if err := count([]string{"-x"}, strings.NewReader(""), &bytes.Buffer{}, mapCounts{}); err == nil {
		t.Fatal("an unknown argument must fail")
	}
}
