//go:build !wasip1

package faasrt

import (
	"encoding/binary"
	"io"
	"os"
	"sync"
)

// A native build makes its key-value calls over the stream socket faasrt
// leaves open at kvChannelFd (faasrt_host_api::NATIVE_KV_FD), one request
// answered before the next; the wire is described in faasrt-host-api's
// kv_channel.rs:
//
//	request: op u8 | key_len u32 LE | value_len u32 LE | key | value
//	answer:  code i64 LE | value (a get's value: code bytes)
//
// Outside faasrt that descriptor is closed or not a socket, and every call
// answers kvUnavailable.

const (
	kvUnavailable = -5
	kvChannelFd   = 1001
	kvOpGet       = 1
	kvOpPut       = 2
	kvOpDelete    = 3
)

var (
	// kvTurn serializes calls: each is a request and its answer.
	kvTurn sync.Mutex
	// kvChannel is the channel, opened once; kept here so the garbage
	// collector never finalizes (closes) it.
	kvChannel     *os.File
	kvChannelOnce sync.Once
)

// channel returns the key-value channel, or nil outside faasrt.
func channel() *os.File {
	kvChannelOnce.Do(func() {
		file := os.NewFile(kvChannelFd, "faasrt-kv")
		if file == nil {
			return
		}
		info, err := file.Stat()
		if err != nil || info.Mode()&os.ModeSocket == 0 {
			return
		}
		kvChannel = file
	})
	return kvChannel
}

// kvCall sends one request and returns the answer's code and, for a get,
// the value.
func kvCall(op byte, key, value []byte) ([]byte, int64) {
	kvTurn.Lock()
	defer kvTurn.Unlock()
	file := channel()
	if file == nil {
		return nil, kvUnavailable
	}
	request := make([]byte, 9, 9+len(key)+len(value))
	request[0] = op
	binary.LittleEndian.PutUint32(request[1:5], uint32(len(key)))
	binary.LittleEndian.PutUint32(request[5:9], uint32(len(value)))
	request = append(request, key...)
	request = append(request, value...)
	if _, err := file.Write(request); err != nil {
		return nil, kvUnavailable
	}
	var answer [8]byte
	if _, err := io.ReadFull(file, answer[:]); err != nil {
		return nil, kvUnavailable
	}
	code := int64(binary.LittleEndian.Uint64(answer[:]))
	if op != kvOpGet || code < 0 {
		return nil, code
	}
	found := make([]byte, code)
	if _, err := io.ReadFull(file, found); err != nil {
		return nil, kvUnavailable
	}
	return found, code
}

func kvGetValue(key []byte) ([]byte, int64) { return kvCall(kvOpGet, key, nil) }

func kvPut(key, value []byte) int32 {
	_, code := kvCall(kvOpPut, key, value)
	return int32(code)
}

func kvDelete(key []byte) int32 {
	_, code := kvCall(kvOpDelete, key, nil)
	return int32(code)
}
