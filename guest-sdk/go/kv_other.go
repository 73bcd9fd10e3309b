//go:build !wasip1

package faasrt

// Outside wasm there is no host store: every call says so.

const kvUnavailable = -5

func kvGet(key, buffer []byte) int64 { return kvUnavailable }

func kvPut(key, value []byte) int32 { return kvUnavailable }

func kvDelete(key []byte) int32 { return kvUnavailable }
