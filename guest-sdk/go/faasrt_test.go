//go:build !wasip1

// These tests drive invoke on the host, where fds 0, 1 and 2 are
// os.Stdin, os.Stdout and os.Stderr and can be swapped for files.

package faasrt

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// reset forgets every registration, as a fresh instance would.
func reset(t *testing.T) {
	t.Helper()
	handler, inits, initRan, initErr, preinitialized = nil, nil, false, nil, false
	current = invocation{}
	t.Cleanup(func() {
		handler, inits, initRan, initErr, preinitialized = nil, nil, false, nil, false
		current = invocation{}
	})
}

// capture runs invoke with faasin holding input and returns the status,
// what went to faasout and what went to the log. On the host, fds 0, 1 and
// 2 are os.Stdin, os.Stdout and os.Stderr.
func capture(t *testing.T, input string) (int32, string, string) {
	t.Helper()
	dir := t.TempDir()
	files := make([]*os.File, 3)
	for i, name := range []string{"in", "out", "log"} {
		f, err := os.Create(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	if _, err := files[0].WriteString(input); err != nil {
		t.Fatal(err)
	}
	if _, err := files[0].Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	saved := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	os.Stdin, os.Stdout, os.Stderr = files[0], files[1], files[2]
	status := invoke()
	os.Stdin, os.Stdout, os.Stderr = saved[0], saved[1], saved[2]
	read := func(name string) string {
		b, err := os.ReadFile(dir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return status, read("out"), read("log")
}

func TestInvokeRunsTheHandlerAndFlushes(t *testing.T) {
	reset(t)
	Handle(func() error {
		in, err := io.ReadAll(Input())
		if err != nil {
			return err
		}
		_, err = Output().WriteString(strings.ToUpper(string(in)))
		return err
	})
	status, out, log := capture(t, "abc")
	if status != 0 || out != "ABC" || log != "" {
		t.Errorf("got (%d, %q, %q)", status, out, log)
	}
}

func TestInvokeReportsErrorsOnTheLog(t *testing.T) {
	reset(t)
	Handle(func() error {
		Output().WriteString("partial")
		return Errorf(UsageStatus, "usage: %s NAME", "x")
	})
	status, out, log := capture(t, "")
	if status != UsageStatus {
		t.Errorf("status %d", status)
	}
	if out != "partial" {
		t.Errorf("output %q: written output is flushed even on failure", out)
	}
	if !strings.HasSuffix(log, ": usage: x NAME\n") {
		t.Errorf("log %q", log)
	}
}

func TestInvokeWithoutAHandlerFails(t *testing.T) {
	reset(t)
	status, _, log := capture(t, "")
	if status != FailedStatus || !strings.Contains(log, "no handler") {
		t.Errorf("got (%d, %q)", status, log)
	}
}

func TestInitRunsOnceInOrderBeforeTheFirstHandler(t *testing.T) {
	reset(t)
	var order []string
	OnInit(func() error { order = append(order, "a"); return nil })
	OnInit(func() error { order = append(order, "b"); return nil })
	Handle(func() error { order = append(order, "handle"); return nil })
	for i := 0; i < 2; i++ {
		if status, _, _ := capture(t, ""); status != 0 {
			t.Fatalf("status %d", status)
		}
	}
	if got := strings.Join(order, ","); got != "a,b,handle,handle" {
		t.Errorf("order %s", got)
	}
}

func TestInitErrorFailsEveryInvocation(t *testing.T) {
	reset(t)
	ran := 0
	OnInit(func() error { return errors.New("no table") })
	OnInit(func() error { ran++; return nil })
	Handle(func() error { ran++; return nil })
	for i := 0; i < 2; i++ {
		status, _, log := capture(t, "")
		if status != FailedStatus || !strings.HasSuffix(log, ": init: no table\n") {
			t.Errorf("got (%d, %q)", status, log)
		}
	}
	if ran != 0 {
		t.Errorf("%d functions ran after the failed init", ran)
	}
}

func TestOutputWrittenDuringInitIsDiscarded(t *testing.T) {
	reset(t)
	OnInit(func() error { _, err := Output().WriteString("from init"); return err })
	Handle(func() error { _, err := Output().WriteString("from handler"); return err })
	if _, out, _ := capture(t, ""); out != "from handler" {
		t.Errorf("output %q", out)
	}
}

func TestRegistrationMisuse(t *testing.T) {
	reset(t)
	mustPanic(t, "nil handler", func() { Handle(nil) })
	Handle(func() error { return nil })
	mustPanic(t, "second handler", func() { Handle(func() error { return nil }) })
	mustPanic(t, "nil init", func() { OnInit(nil) })
	if err := runInit(); err != nil {
		t.Fatal(err)
	}
	mustPanic(t, "OnInit after init", func() { OnInit(func() error { return nil }) })
}

func mustPanic(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", what)
		}
	}()
	f()
}

func TestRandIsPerInvocation(t *testing.T) {
	reset(t)
	var first, second [2]uint64
	calls := 0
	Handle(func() error {
		r := Rand()
		if Rand() != r {
			t.Error("Rand changed within an invocation")
		}
		v := [2]uint64{r.Uint64(), r.Uint64()}
		if calls == 0 {
			first = v
		} else {
			second = v
		}
		calls++
		return nil
	})
	capture(t, "")
	capture(t, "")
	if first == second {
		t.Errorf("two invocations drew the same values %v", first)
	}
}

func TestStartedIsPerInvocation(t *testing.T) {
	reset(t)
	var starts []int64
	Handle(func() error { starts = append(starts, Started().UnixNano()); return nil })
	capture(t, "")
	capture(t, "")
	if len(starts) != 2 || starts[0] == 0 || starts[1] < starts[0] {
		t.Errorf("starts %v", starts)
	}
}

func TestArgsWithoutTheFunctionName(t *testing.T) {
	saved := os.Args
	defer func() { os.Args = saved }()
	os.Args = []string{"/bin/fn", "a", "b"}
	if got := Args(); strings.Join(got, ",") != "a,b" {
		t.Errorf("Args() = %q", got)
	}
	if got := FunctionName(); got != "/bin/fn" {
		t.Errorf("FunctionName() = %q", got)
	}
	os.Args = nil
	if Args() != nil || FunctionName() != "" {
		t.Error("no argv at all")
	}
}
