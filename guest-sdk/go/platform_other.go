//go:build !wasip1

package faasrt

import (
	"crypto/rand"
	"os"
	"slices"
)

// On other platforms (tests on the host, a native build of a function) the
// process's own arguments, environment and stdio stand in for WASI's. There
// is no snapshot, so nothing needs refreshing or reseeding.

func platformArgs() []string {
	return slices.Clone(os.Args)
}

func platformEnviron() ([]string, bool) {
	return nil, false
}

func readFd(fd int, p []byte) (int, error) {
	return fileFor(fd).Read(p)
}

func writeFd(fd int, p []byte) (int, error) {
	return fileFor(fd).Write(p)
}

func fileFor(fd int) *os.File {
	switch fd {
	case 0:
		return os.Stdin
	case 1:
		return os.Stdout
	default:
		return os.Stderr
	}
}

func randomBytes(p []byte) error {
	_, err := rand.Read(p)
	return err
}

func locateRuntimeRand() bool { return false }

func reseedRuntimeRand() bool { return false }
