package main

import (
	"strings"
	"testing"

	"faasrt.dev/guest"
)

func TestAGapStartsANewSession(t *testing.T) {
	in := []byte("fsb1\x00\x00\x00\x00")
	events := []string{"ann 1000 home", "ann 2000 cart", "ann 9000 home", "bob 1500 home"}
	in = append(in, byte(len(events)), 0, 0, 0)
	for _, e := range events {
		key := strings.Fields(e)[0]
		for _, part := range []string{key, e + "\n"} {
			in = append(in, byte(len(part)), 0, 0, 0)
			in = append(in, part...)
		}
	}
	var lines []string
	_, err := faasrt.HandleBatch(in, func(r faasrt.Record, s *faasrt.State) error {
		line, err := sessionize(r.Value, s, 5000)
		lines = append(lines, string(line))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "ann s1 1000 home\nann s1 2000 cart\nann s2 9000 home\nbob s1 1500 home\n"
	if got := strings.Join(lines, ""); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestAMalformedEventIsAnError(t *testing.T) {
	_, err := faasrt.HandleBatch([]byte("fsb1\x00\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00ann\x04\x00\x00\x00ann\n"), func(r faasrt.Record, s *faasrt.State) error {
		_, err := sessionize(r.Value, s, 5000)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not USER TIME_MS EVENT") {
		t.Errorf("err = %v", err)
	}
}
