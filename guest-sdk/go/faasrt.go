package faasrt

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// OutputBufferSize is the size of the buffer in front of faasout.
const OutputBufferSize = 64 << 10

var (
	handler func() error
	inits   []func() error

	// initRan and initErr record the one run of the OnInit functions in
	// this instance, or in the snapshot it started from.
	initRan bool
	initErr error

	// preinitialized is set at the end of wizer-initialize, so it is true
	// exactly in instances made from a snapshot.
	preinitialized bool

	// globalRandFresh: see GlobalRandFresh.
	globalRandFresh = true

	output = bufio.NewWriterSize(fdWriter{fd: 1}, OutputBufferSize)

	// current is the state of the invocation in progress (or of init,
	// before the first one).
	current invocation
)

type invocation struct {
	started time.Time
	rng     *rand.Rand
}

// Handle registers the function's handler. Call it from an init function of
// package main, exactly once: a reactor never runs main, and the module's
// handle export calls h once per invocation.
//
// h reads [Input], writes [Output] and returns nil on success. See [Exit]
// and [Errorf] for other statuses.
func Handle(h func() error) {
	if h == nil {
		panic("faasrt.Handle: nil handler")
	}
	if handler != nil {
		panic("faasrt.Handle called twice")
	}
	handler = h
}

// OnInit registers expensive set-up: loading tables, parsing embedded data,
// building caches. The functions run once, in the order they were
// registered, after every package's init: at deploy time when the module is
// pre-initialized (their results are then part of every invocation's
// starting memory, and the time they take is not paid per invocation), or
// before the first handler call otherwise. Call OnInit from an init
// function.
//
// Init code sees the deploy's arguments, environment, clock and faasin,
// not an invocation's: do not read [Input] or [Args] there, and do not
// write [Output] (what init writes there is discarded). An error (or a
// panic) fails the deploy of a pre-initialized module, and fails every
// invocation of one that is not, with status 1 and the message on the log.
func OnInit(f func() error) {
	if f == nil {
		panic("faasrt.OnInit: nil function")
	}
	if initRan {
		panic("faasrt.OnInit called after init ran; call it from an init function")
	}
	inits = append(inits, f)
}

// runInit runs the OnInit functions, once per instance (or snapshot).
func runInit() error {
	if initRan {
		return initErr
	}
	initRan = true
	current = invocation{started: time.Now()}
	for _, f := range inits {
		if err := f(); err != nil {
			initErr = fmt.Errorf("init: %w", err)
			break
		}
	}
	// Nothing written during init belongs to an invocation.
	output.Reset(fdWriter{fd: 1})
	return initErr
}

// invoke runs one invocation and returns its exit status.
func invoke() int32 {
	if preinitialized {
		// This instance starts from a snapshot: give it the invocation's
		// own arguments, environment and randomness.
		refreshProcessState()
		globalRandFresh = reseedRuntimeRand()
	}
	if err := runInit(); err != nil {
		writeLog(prefixed(FunctionName(), err.Error()))
		return FailedStatus
	}
	current = invocation{started: time.Now()}
	output.Reset(fdWriter{fd: 1})
	if handler == nil {
		writeLog(prefixed(FunctionName(), "no handler: call faasrt.Handle from an init function"))
		return FailedStatus
	}
	err := handler()
	status, message := statusAndMessage(err, output.Flush())
	if message != "" {
		writeLog(prefixed(FunctionName(), message))
	}
	return int32(status)
}

// refreshProcessState replaces os.Args and the environment, which the Go
// runtime read once when the snapshot was made, with this invocation's.
func refreshProcessState() {
	if args := platformArgs(); len(args) > 0 && !slices.Equal(args, os.Args) {
		os.Args = args
	}
	env, ok := platformEnviron()
	if !ok || slices.Equal(env, os.Environ()) {
		return
	}
	os.Clearenv()
	for _, kv := range env {
		key, value := splitEnv(kv)
		_ = os.Setenv(key, value)
	}
}

// Main runs the function as a command: it calls the handler once (after the
// OnInit functions) and exits with its status. Call it from main. In a
// reactor (the faasrt build, -buildmode=c-shared) main never runs and the
// runtime calls the module's handle export instead; Main is what lets the
// same source also run as a WASI command or natively on the host, for
// example with go run.
func Main() {
	os.Exit(int(invoke()))
}

// Input returns faasin (fd 0), read directly, without a buffer: wrap it in a
// [bufio.Reader] or [bufio.Scanner] for lines. It reports [io.EOF] once the
// producer has finished.
func Input() io.Reader {
	return fdReader{fd: 0}
}

// Output returns the buffered writer on faasout (fd 1). It is flushed when
// the handler returns, before the exit status is decided, and when its
// buffer ([OutputBufferSize]) fills; call Flush to hand partial output to
// the consumer earlier, as a streaming stage should after each record.
func Output() *bufio.Writer {
	return output
}

// Log writes its operands to the function's log (fd 2) as one line, spaced
// as by [fmt.Println].
func Log(args ...any) {
	writeLog(fmt.Sprintln(args...))
}

// Logf writes a formatted line to the function's log (fd 2); a newline is
// added unless the text ends with one.
func Logf(format string, args ...any) {
	writeLog(fmt.Sprintf(format, args...))
}

func writeLog(text string) {
	// The log is best effort: a function cannot report that its report
	// failed.
	_, _ = fdWriter{fd: 2}.Write(logLine(text))
}

// Args returns this invocation's arguments, without the function name. It
// reads them from WASI on every call: os.Args of a pre-initialized module
// would hold the deploy's (the SDK replaces os.Args before each handler
// call, but Args never depends on that).
func Args() []string {
	args := platformArgs()
	if len(args) == 0 {
		return nil
	}
	return args[1:]
}

// FunctionName returns the name the function was invoked as (argv[0]), or
// "" if the host passed no arguments at all.
func FunctionName() string {
	args := platformArgs()
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// Rand returns a random generator of this invocation's own (ChaCha8,
// seeded from the host's entropy with WASI random_get when first asked
// for). Two invocations never share its sequence, with or without
// pre-initialization. It is not safe for concurrent use by several
// goroutines; it is not meant for keys (use crypto/rand).
//
// During init it returns a generator of init's own.
func Rand() *rand.Rand {
	if current.rng == nil {
		var seed [32]byte
		if err := randomBytes(seed[:]); err != nil {
			panic("faasrt.Rand: the host gave no random bytes: " + err.Error())
		}
		current.rng = rand.New(rand.NewChaCha8(seed))
	}
	return current.rng
}

// Started returns the time the current invocation began: a safe base for
// measuring elapsed time with [time.Since]. Its monotonic reading comes from
// this instance's clock, unlike that of a time.Time kept from init in a
// pre-initialized module (see the package documentation). During init it is
// the time init began.
func Started() time.Time {
	return current.started
}

// Preinitialized reports whether this instance started from a snapshot made
// at deploy time (the OnInit functions then ran there, not here).
func Preinitialized() bool {
	return preinitialized
}

// GlobalRandFresh reports whether the Go runtime's random state (the global
// functions of math/rand and math/rand/v2, map iteration order and new
// maps' hash seeds) was seeded from the host's entropy in this instance:
// always true without pre-initialization, where the runtime seeds itself
// when it starts; true in an instance made from a snapshot when the SDK
// reseeded the state that the snapshot froze. When it is false, those
// functions repeat the same values in every invocation: use [Rand].
func GlobalRandFresh() bool {
	return globalRandFresh
}

// wizerInitialize is the body of the wizer-initialize export: it runs once,
// at deploy time, after _initialize, and the memory it leaves becomes every
// invocation's starting state.
func wizerInitialize() {
	if err := runInit(); err != nil {
		// A trap fails the deploy with this message on the log.
		panic(err)
	}
	settleForSnapshot()
	globalRandFresh = locateRuntimeRand()
	if !globalRandFresh {
		writeLog("faasrt: the Go runtime's random state could not be located; " +
			"math/rand's global functions will repeat their values in every invocation (use faasrt.Rand)")
	}
	preinitialized = true
}

// settleForSnapshot runs a full garbage collection, so that the snapshot
// holds no GC cycle half done and no garbage from init: invocations start
// with a heap goal set from init's live data, not with a collection due.
func settleForSnapshot() {
	runtime.GC()
}

// fdReader reads a file descriptor directly.
type fdReader struct{ fd int }

func (r fdReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		n, err := readFd(r.fd, p)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return n, err
		}
		if n == 0 {
			return 0, io.EOF
		}
		return n, nil
	}
}

// fdWriter writes a file descriptor directly, all of p or an error.
type fdWriter struct{ fd int }

func (w fdWriter) Write(p []byte) (int, error) {
	written := 0
	for written < len(p) {
		n, err := writeFd(w.fd, p[written:])
		written += n
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return written, err
		}
		if n == 0 {
			return written, io.ErrShortWrite
		}
	}
	return written, nil
}
