package faasrt

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"
)

func TestStatusAndMessage(t *testing.T) {
	epipe := &os.PathError{Op: "write", Path: "/dev/stdout", Err: syscall.EPIPE}
	for _, tc := range []struct {
		name        string
		handler     error
		flush       error
		wantStatus  int
		wantMessage string
	}{
		{"success", nil, nil, 0, ""},
		{"plain error", errors.New("boom"), nil, 1, "boom"},
		{"quiet exit", Exit(3), nil, 3, ""},
		{"exit 0 is not success", Exit(0), nil, 1, ""},
		{"errorf", Errorf(UsageStatus, "missing %s", "PATTERN"), nil, 2, "missing PATTERN"},
		{"errorf 0", Errorf(0, "x"), nil, 1, "x"},
		{"wrapped quiet exit stays quiet", fmt.Errorf("lookup: %w", Exit(4)), nil, 4, ""},
		{"wrapped exit error with a message", fmt.Errorf("lookup: %w", Errorf(4, "no key")), nil, 4, "lookup: no key"},
		{"broken pipe in the handler", fmt.Errorf("copy: %w", epipe), nil, BrokenPipeStatus, ""},
		{"bare EPIPE", syscall.EPIPE, nil, BrokenPipeStatus, ""},
		{"broken pipe in the flush", nil, epipe, BrokenPipeStatus, ""},
		{"other flush error", nil, io.ErrShortWrite, 1, "short write"},
		{"handler error wins over flush", Exit(5), epipe, 5, ""},
		{"status around a broken pipe stays quiet", &ExitError{Status: 7, Err: epipe}, nil, 7, ""},
	} {
		status, message := statusAndMessage(tc.handler, tc.flush)
		if status != tc.wantStatus || message != tc.wantMessage {
			t.Errorf("%s: got (%d, %q), want (%d, %q)", tc.name, status, message, tc.wantStatus, tc.wantMessage)
		}
	}
}

func TestExitStatus(t *testing.T) {
	if got := ExitStatus(nil); got != 0 {
		t.Errorf("nil: %d", got)
	}
	if got := ExitStatus(errors.New("x")); got != FailedStatus {
		t.Errorf("error: %d", got)
	}
	if got := ExitStatus(Exit(9)); got != 9 {
		t.Errorf("Exit(9): %d", got)
	}
}

func TestExitErrorText(t *testing.T) {
	if got := Exit(3).Error(); got != "exit status 3" {
		t.Errorf("Exit(3): %q", got)
	}
	inner := errors.New("inner")
	e := &ExitError{Status: 2, Err: inner}
	if e.Error() != "inner" || !errors.Is(e, inner) {
		t.Errorf("wrapping: %q", e.Error())
	}
}

func TestPrefixed(t *testing.T) {
	for _, tc := range [][3]string{
		{"grep", "oops", "grep: oops"},
		{"/usr/bin/grep", "oops", "grep: oops"},
		{`C:\bin\grep`, "oops", "grep: oops"},
		{"", "oops", "oops"},
		{"dir/", "oops", "oops"},
	} {
		if got := prefixed(tc[0], tc[1]); got != tc[2] {
			t.Errorf("prefixed(%q, %q) = %q, want %q", tc[0], tc[1], got, tc[2])
		}
	}
}
