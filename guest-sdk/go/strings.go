package faasrt

import (
	"bytes"
	"strings"
)

// splitVector turns what WASI args_get or environ_get wrote into strings:
// ptrs holds one 32-bit linear-memory address per string, each pointing at
// a NUL-terminated string inside buf, whose own address is base. An address
// outside buf, or a string without its NUL, ends the list there: the host
// broke the ABI and nothing after it can be trusted.
func splitVector(ptrs []uint32, buf []byte, base uint32) []string {
	out := make([]string, 0, len(ptrs))
	for _, p := range ptrs {
		if p < base || uint64(p-base) >= uint64(len(buf)) {
			break
		}
		rest := buf[p-base:]
		end := bytes.IndexByte(rest, 0)
		if end < 0 {
			break
		}
		out = append(out, string(rest[:end]))
	}
	return out
}

// splitEnv splits "KEY=value" at the first '='. An entry without one is a
// key with an empty value, as os.Getenv would see it.
func splitEnv(kv string) (key, value string) {
	key, value, _ = strings.Cut(kv, "=")
	return key, value
}

// logLine is what [Log] and [Logf] write: the text, ending with exactly one
// newline.
func logLine(text string) []byte {
	line := make([]byte, 0, len(text)+1)
	line = append(line, text...)
	if !strings.HasSuffix(text, "\n") {
		line = append(line, '\n')
	}
	return line
}
