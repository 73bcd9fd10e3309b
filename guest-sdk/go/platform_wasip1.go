//go:build wasip1

package faasrt

import (
	"runtime"
	"syscall"
	"unsafe"
)

// The module's entry points (see the package documentation).

//go:wasmexport handle
func handleExport() int32 {
	return invoke()
}

//go:wasmexport wizer-initialize
func wizerInitializeExport() {
	wizerInitialize()
}

// Arguments and environment come straight from WASI, because the copies the
// Go runtime made when it started are the snapshot's in a pre-initialized
// module.

//go:wasmimport wasi_snapshot_preview1 args_sizes_get
//go:noescape
func argsSizesGet(count, bufLen *uint32) uint32

//go:wasmimport wasi_snapshot_preview1 args_get
//go:noescape
func argsGet(ptrs, buf unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 environ_sizes_get
//go:noescape
func environSizesGet(count, bufLen *uint32) uint32

//go:wasmimport wasi_snapshot_preview1 environ_get
//go:noescape
func environGet(ptrs, buf unsafe.Pointer) uint32

func platformArgs() []string {
	var count, size uint32
	if argsSizesGet(&count, &size) != 0 || count == 0 {
		return nil
	}
	ptrs := make([]uint32, count)
	buf := make([]byte, size+1) // +1: &buf[0] exists even for size 0
	if argsGet(unsafe.Pointer(&ptrs[0]), unsafe.Pointer(&buf[0])) != 0 {
		return nil
	}
	out := splitVector(ptrs, buf[:size], uint32(uintptr(unsafe.Pointer(&buf[0]))))
	runtime.KeepAlive(buf)
	return out
}

func platformEnviron() ([]string, bool) {
	var count, size uint32
	if environSizesGet(&count, &size) != 0 {
		return nil, false
	}
	if count == 0 {
		return []string{}, true
	}
	ptrs := make([]uint32, count)
	buf := make([]byte, size+1)
	if environGet(unsafe.Pointer(&ptrs[0]), unsafe.Pointer(&buf[0])) != 0 {
		return nil, false
	}
	out := splitVector(ptrs, buf[:size], uint32(uintptr(unsafe.Pointer(&buf[0]))))
	runtime.KeepAlive(buf)
	return out, len(out) == int(count)
}

// faasin, faasout and the log are read and written with fd_read and
// fd_write directly, never through os.File, whose state (made when the
// snapshot was) the SDK does not need to trust.

func readFd(fd int, p []byte) (int, error) {
	return syscall.Read(fd, p)
}

func writeFd(fd int, p []byte) (int, error) {
	return syscall.Write(fd, p)
}

func randomBytes(p []byte) error {
	return syscall.RandomGet(p)
}
