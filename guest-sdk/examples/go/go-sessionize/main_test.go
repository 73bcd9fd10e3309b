package main

import (
	"strings"
	"testing"

	"faasrt.dev/guest"
)

func TestAGapStartsANewSession(t *testing.T) {
	// Keys ann (0) and bob (1), neither stored yet; then the events.
	in := []byte("fsb2\x02\x00\x00\x00\x03\x00\x00\x00ann\x00\x03\x00\x00\x00bob\x00")
	events := []string{"ann 1000 home", "ann 2000 cart", "ann 9000 home", "bob 1500 home"}
	in = append(in, byte(len(events)), 0, 0, 0)
	for _, e := range events {
		index := byte(0)
		if strings.HasPrefix(e, "bob") {
			index = 1
		}
		line := e + "\n"
		in = append(in, index, 0, 0, 0, byte(len(line)), 0, 0, 0)
		in = append(in, line...)
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
	_, err := faasrt.HandleBatch([]byte("fsb2\x01\x00\x00\x00\x03\x00\x00\x00ann\x00\x01\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00ann\n"), func(r faasrt.Record, s *faasrt.State) error {
		_, err := sessionize(r.Value, s, 5000)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not USER TIME_MS EVENT") {
		t.Errorf("err = %v", err)
	}
}
