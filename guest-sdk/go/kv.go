package faasrt

import (
	"errors"
	"fmt"
)

// Key-value state that survives between invocations, scoped to the
// function: [KvGet], [KvPut] and [KvDelete].
//
// An invocation reads what earlier invocations committed and its own
// writes. Its writes are committed together when it succeeds (its handler
// returns nil, exit status 0), before its result is returned; when it
// fails they are dropped, so a retry starts from the state the failed
// attempt started from. Concurrent invocations are not isolated from each
// other: the last to commit a key wins.
//
// Keys are 1 to [MaxKeyBytes] bytes, values up to [MaxValueBytes], and the
// function's deploy sets how many keys and bytes its state may hold in all.
// A stage of a stream keeps its state with [State] instead; there these
// calls fail with [ErrKvUnavailable]. A native build makes the same calls
// over the channel faasrt opens for it at descriptor 1001; run outside
// faasrt, where that descriptor is not a socket, they fail with
// [ErrKvUnavailable].

const (
	// MaxKeyBytes is the longest key.
	MaxKeyBytes = 1024
	// MaxValueBytes is the longest value.
	MaxValueBytes = 1 << 20
)

// The errors of the key-value calls; the host also writes the reason to
// the function's log.
var (
	// ErrKvKeySize: the key is empty or longer than MaxKeyBytes.
	ErrKvKeySize = errors.New("faasrt: a key must be 1 to 1024 bytes long")
	// ErrKvValueTooLarge: the value is longer than MaxValueBytes.
	ErrKvValueTooLarge = errors.New("faasrt: a value may be at most 1 MiB")
	// ErrKvQuota: the write would take the function's state past its quota.
	ErrKvQuota = errors.New("faasrt: the function's key-value quota would be exceeded")
	// ErrKvUnavailable: this invocation has no key-value state.
	ErrKvUnavailable = errors.New("faasrt: this invocation has no key-value state")
	// ErrKvStore: the host could not read its store.
	ErrKvStore = errors.New("faasrt: the host could not read its key-value store")
)

// kvNotFound is what the host's get answers for a key without a value.
const kvNotFound = -1

func kvError(code int64) error {
	switch code {
	case -2:
		return ErrKvKeySize
	case -3:
		return ErrKvValueTooLarge
	case -4:
		return ErrKvQuota
	case -5:
		return ErrKvUnavailable
	case -6:
		return ErrKvStore
	default:
		return fmt.Errorf("faasrt: key-value call failed with code %d", code)
	}
}

// KvGet returns the value of key and whether it has one.
func KvGet(key []byte) ([]byte, bool, error) {
	value, code := kvGetValue(key)
	if code == kvNotFound {
		return nil, false, nil
	}
	if code < 0 {
		return nil, false, kvError(code)
	}
	return value, true, nil
}

// KvPut puts value under key; when it fails, nothing was written.
func KvPut(key, value []byte) error {
	if code := kvPut(key, value); code != 0 {
		return kvError(int64(code))
	}
	return nil
}

// KvDelete deletes key's value; deleting a key without one is not an error.
func KvDelete(key []byte) error {
	if code := kvDelete(key); code != 0 {
		return kvError(int64(code))
	}
	return nil
}
