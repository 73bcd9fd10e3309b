package faasrt

import (
	"encoding/binary"
	"errors"
	"io"
	"sort"
)

// The record API, for stages of a faasrt stream: a function that is
// handed records one at a time, emits records, and keeps state per key.
//
// The host runs the function once per batch of records and hands it the
// stored state of the batch's keys with them; the handler registered with
// [HandleRecords] is called for each record in order. [State.Get],
// [State.Put] and [State.Delete] act on the current record's key: reads see
// the batch's own writes, and the host commits the writes with the epoch
// they belong to (exactly once, even when the stream replays after a
// failure). A checkpoint never falls inside a batch.

// Record is one record of a batch.
type Record struct {
	// Key is the key field of a line, or the key of a frame.
	Key []byte
	// Value is the line (newline included) or the frame's value.
	Value []byte
}

// State is the state of the current record's key, and where emitted
// records go.
type State struct {
	values  map[string][]byte
	written map[string]bool
	key     string
	out     []byte
}

// Get returns the current key's value and whether it has one.
func (s *State) Get() ([]byte, bool) {
	v, ok := s.values[s.key]
	return v, ok && v != nil
}

// Put sets the current key's value.
func (s *State) Put(value []byte) {
	s.values[s.key] = append([]byte{}, value...)
	s.written[s.key] = true
}

// Delete deletes the current key's value.
func (s *State) Delete() {
	s.values[s.key] = nil
	s.written[s.key] = true
}

// Key returns the current record's key.
func (s *State) Key() []byte { return []byte(s.key) }

// Emit sends a record downstream (to the next stage, or the stream's
// output). In a "lines" stream value is the line (a newline is added if it
// has none) and key is ignored.
func (s *State) Emit(key, value []byte) {
	s.out = append(s.out, 'E')
	s.out = putBytes(s.out, key)
	s.out = putBytes(s.out, value)
}

// ErrNotABatch is returned when faasin is not a batch of records: the
// function was invoked outside a stream.
var ErrNotABatch = errors.New("faasin is not a batch of records: this function is a stream stage (records API)")

// HandleRecords registers h as the function's handler, called once per
// record of each batch. Call it from an init function of package main,
// instead of [Handle].
func HandleRecords(h func(r Record, s *State) error) {
	Handle(func() error {
		batch, err := io.ReadAll(Input())
		if err != nil {
			return err
		}
		answer, err := HandleBatch(batch, h)
		if err != nil {
			return err
		}
		_, err = Output().Write(answer)
		return err
	})
}

// HandleBatch is [HandleRecords] without the standard streams: the answer
// to one batch.
func HandleBatch(batch []byte, h func(r Record, s *State) error) ([]byte, error) {
	r := reader{batch}
	if magic, ok := r.take(4); !ok || string(magic) != "fsb1" {
		return nil, ErrNotABatch
	}
	s := &State{values: map[string][]byte{}, written: map[string]bool{}}
	states, ok := r.u32()
	if !ok {
		return nil, ErrNotABatch
	}
	for range states {
		key, ok1 := r.bytes()
		value, ok2 := r.bytes()
		if !ok1 || !ok2 {
			return nil, ErrNotABatch
		}
		s.values[string(key)] = value
	}
	records, ok := r.u32()
	if !ok {
		return nil, ErrNotABatch
	}
	for range records {
		key, ok1 := r.bytes()
		value, ok2 := r.bytes()
		if !ok1 || !ok2 {
			return nil, ErrNotABatch
		}
		s.key = string(key)
		if err := h(Record{Key: key, Value: value}, s); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(s.written))
	for key := range s.written {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	out := s.out
	for _, key := range keys {
		if value := s.values[key]; value != nil {
			out = append(out, 'P')
			out = putBytes(out, []byte(key))
			out = putBytes(out, value)
		} else {
			out = append(out, 'D')
			out = putBytes(out, []byte(key))
		}
	}
	return out, nil
}

func putBytes(out, b []byte) []byte {
	out = binary.LittleEndian.AppendUint32(out, uint32(len(b)))
	return append(out, b...)
}

type reader struct{ b []byte }

func (r *reader) take(n int) ([]byte, bool) {
	if len(r.b) < n {
		return nil, false
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v, true
}

func (r *reader) u32() (uint32, bool) {
	v, ok := r.take(4)
	if !ok {
		return 0, false
	}
	return binary.LittleEndian.Uint32(v), true
}

func (r *reader) bytes() ([]byte, bool) {
	n, ok := r.u32()
	if !ok {
		return nil, false
	}
	return r.take(int(n))
}
