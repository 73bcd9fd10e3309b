package faasrt

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

// batch lays out a batch as the host does: the records' keys once each,
// in the order met, with their value from states, then the records by key
// index.
func batch(states [][2]string, records [][2]string) []byte {
	var keys []string
	index := map[string]int{}
	for _, kv := range records {
		if _, ok := index[kv[0]]; !ok {
			index[kv[0]] = len(keys)
			keys = append(keys, kv[0])
		}
	}
	out := []byte("fsb2")
	out = putU32(out, len(keys))
	for _, key := range keys {
		out = putBytes(out, []byte(key))
		value, found := "", false
		for _, kv := range states {
			if kv[0] == key {
				value, found = kv[1], true
			}
		}
		if found {
			out = putBytes(append(out, 1), []byte(value))
		} else {
			out = append(out, 0)
		}
	}
	out = putU32(out, len(records))
	for _, kv := range records {
		out = putU32(out, index[kv[0]])
		out = putBytes(out, []byte(kv[1]))
	}
	return out
}

func putU32(out []byte, n int) []byte {
	return append(out, byte(n), byte(n>>8), byte(n>>16), byte(n>>24))
}

func TestRecordsSeeTheirBatchsWritesAndEachKeyIsWrittenOnce(t *testing.T) {
	in := batch([][2]string{{"a", "5"}}, [][2]string{{"a", "x"}, {"b", "y"}, {"a", "z"}})
	var seen []string
	answer, err := HandleBatch(in, func(r Record, s *State) error {
		n := 0
		if v, ok := s.Get(); ok {
			n, _ = strconv.Atoi(string(v))
		}
		seen = append(seen, string(r.Key)+"="+strconv.Itoa(n))
		s.Put([]byte(strconv.Itoa(n + 1)))
		s.Emit(r.Key, r.Value)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Join(toBytes(seen), []byte(",")); string(got) != "a=5,b=0,a=6" {
		t.Errorf("seen %s", got)
	}
	var want []byte
	for _, kv := range [][2]string{{"a", "x"}, {"b", "y"}, {"a", "z"}} {
		want = putBytes(putBytes(append(want, 'E'), []byte(kv[0])), []byte(kv[1]))
	}
	for _, kv := range [][2]string{{"a", "7"}, {"b", "1"}} {
		want = putBytes(putBytes(append(want, 'P'), []byte(kv[0])), []byte(kv[1]))
	}
	if !bytes.Equal(answer, want) {
		t.Errorf("answer %q, want %q", answer, want)
	}
}

func TestADeleteIsAnsweredAsOne(t *testing.T) {
	answer, err := HandleBatch(batch([][2]string{{"k", "1"}}, [][2]string{{"k", "v"}}), func(r Record, s *State) error {
		s.Delete()
		return nil
	})
	if err != nil || string(answer) != "D\x01\x00\x00\x00k" {
		t.Errorf("answer %q, err %v", answer, err)
	}
}

func TestInputThatIsNotABatchIsRefused(t *testing.T) {
	if _, err := HandleBatch([]byte("hello\n"), func(Record, *State) error { return nil }); !errors.Is(err, ErrNotABatch) {
		t.Errorf("err = %v", err)
	}
}

func toBytes(s []string) [][]byte {
	out := make([][]byte, len(s))
	for i, v := range s {
		out[i] = []byte(v)
	}
	return out
}
