//go:build wasip1

package faasrt

import (
	"runtime"
	"unsafe"
)

//go:wasmimport faasrt kv_get
//go:noescape
func hostKvGet(key unsafe.Pointer, keyLen uint32, buf unsafe.Pointer, bufLen uint32) int64

//go:wasmimport faasrt kv_put
//go:noescape
func hostKvPut(key unsafe.Pointer, keyLen uint32, value unsafe.Pointer, valueLen uint32) int32

//go:wasmimport faasrt kv_delete
//go:noescape
func hostKvDelete(key unsafe.Pointer, keyLen uint32) int32

// pointer is the address of p's first byte, or nil for an empty slice (the
// host reads no byte of an empty range).
func pointer(p []byte) unsafe.Pointer {
	if len(p) == 0 {
		return nil
	}
	return unsafe.Pointer(&p[0])
}

// kvGetValue returns key's value and its length, or kvNotFound or the
// host's error code.
func kvGetValue(key []byte) ([]byte, int64) {
	buffer := make([]byte, 256)
	for {
		length := hostKvGet(pointer(key), uint32(len(key)), pointer(buffer), uint32(len(buffer)))
		runtime.KeepAlive(key)
		runtime.KeepAlive(buffer)
		if length < 0 {
			return nil, length
		}
		if int(length) <= len(buffer) {
			return buffer[:length], length
		}
		// Short buffer: the host said how long the value is.
		buffer = make([]byte, length)
	}
}

func kvPut(key, value []byte) int32 {
	code := hostKvPut(pointer(key), uint32(len(key)), pointer(value), uint32(len(value)))
	runtime.KeepAlive(key)
	runtime.KeepAlive(value)
	return code
}

func kvDelete(key []byte) int32 {
	code := hostKvDelete(pointer(key), uint32(len(key)))
	runtime.KeepAlive(key)
	return code
}
