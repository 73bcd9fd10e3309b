package faasrt

import (
	"encoding/binary"
	"errors"
	"io"
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
	// entries holds each key of the batch in the host's order: records
	// name theirs by index, so finding a key's state is an array access.
	entries []entry
	current int
	out     []byte
}

type entry struct {
	key     []byte
	value   []byte
	present bool
	written bool
}

// Get returns the current key's value and whether it has one.
func (s *State) Get() ([]byte, bool) {
	e := &s.entries[s.current]
	return e.value, e.present
}

// Put sets the current key's value.
func (s *State) Put(value []byte) {
	e := &s.entries[s.current]
	e.value = append(e.value[:0], value...)
	e.present = true
	e.written = true
}

// Delete deletes the current key's value.
func (s *State) Delete() {
	e := &s.entries[s.current]
	e.value = nil
	e.present = false
	e.written = true
}

// Key returns the current record's key.
func (s *State) Key() []byte { return s.entries[s.current].key }

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
	if magic, ok := r.take(4); !ok || string(magic) != "fsb2" {
		return nil, ErrNotABatch
	}
	s := &State{}
	keys, ok := r.u32()
	if !ok {
		return nil, ErrNotABatch
	}
	for range keys {
		key, ok := r.bytes()
		if !ok {
			return nil, ErrNotABatch
		}
		has, ok := r.take(1)
		if !ok || has[0] > 1 {
			return nil, ErrNotABatch
		}
		e := entry{key: key}
		if has[0] == 1 {
			value, ok := r.bytes()
			if !ok {
				return nil, ErrNotABatch
			}
			e.value, e.present = append([]byte{}, value...), true
		}
		s.entries = append(s.entries, e)
	}
	records, ok := r.u32()
	if !ok {
		return nil, ErrNotABatch
	}
	for range records {
		index, ok1 := r.u32()
		value, ok2 := r.bytes()
		if !ok1 || !ok2 || int(index) >= len(s.entries) {
			return nil, ErrNotABatch
		}
		s.current = int(index)
		if err := h(Record{Key: s.entries[index].key, Value: value}, s); err != nil {
			return nil, err
		}
	}
	out := s.out
	for _, e := range s.entries {
		if !e.written {
			continue
		}
		if e.present {
			out = append(out, 'P')
			out = putBytes(out, e.key)
			out = putBytes(out, e.value)
		} else {
			out = append(out, 'D')
			out = putBytes(out, e.key)
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
