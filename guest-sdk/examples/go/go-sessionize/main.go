// Splits each user's events into sessions; a keyed stream stage in Go.
//
// Input lines are "USER TIME_MS EVENT...", keyed by USER (field 0). A user's
// event more than GAP_MS (the first argument, 30 minutes by default) after
// their previous one starts a new session. Each event goes downstream as
// "USER sN TIME_MS EVENT...", with N the user's session number; the state
// per user is "N LAST_TIME_MS".
package main

import (
	"bytes"
	"fmt"
	"strconv"

	"faasrt.dev/guest"
)

const defaultGapMs = 30 * 60 * 1000

func init() {
	faasrt.HandleRecords(func(r faasrt.Record, s *faasrt.State) error {
		gap := int64(defaultGapMs)
		if args := faasrt.Args(); len(args) > 0 {
			parsed, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || parsed <= 0 {
				return faasrt.Errorf(2, "go-sessionize: GAP_MS must be a positive number, got %q", args[0])
			}
			gap = parsed
		}
		line, err := sessionize(r.Value, s, gap)
		if err != nil {
			return err
		}
		s.Emit(r.Key, line)
		return nil
	})
}

// sessionize returns the line for one event and updates the user's state.
func sessionize(event []byte, s *faasrt.State, gap int64) ([]byte, error) {
	fields := bytes.Fields(event)
	if len(fields) < 2 {
		return nil, faasrt.Errorf(65, "go-sessionize: %q is not USER TIME_MS EVENT", bytes.TrimSpace(event))
	}
	at, err := strconv.ParseInt(string(fields[1]), 10, 64)
	if err != nil {
		return nil, faasrt.Errorf(65, "go-sessionize: %q: TIME_MS is not a number", bytes.TrimSpace(event))
	}
	session, last := int64(0), int64(0)
	if v, ok := s.Get(); ok {
		if _, err := fmt.Sscan(string(v), &session, &last); err != nil {
			return nil, faasrt.Errorf(70, "go-sessionize: stored state %q is not N LAST_TIME_MS", v)
		}
	}
	if session == 0 || at-last > gap {
		session++
	}
	s.Put([]byte(fmt.Sprintf("%d %d", session, at)))
	rest := bytes.Join(fields[1:], []byte(" "))
	return []byte(fmt.Sprintf("%s s%d %s\n", fields[0], session, rest)), nil
}

func main() { faasrt.Main() }
