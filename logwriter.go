package main

import (
	"io"
	"sync"
	"time"
)

// logFlushInterval is how often buffered log lines are written out, and so
// how much of the log a kill -9 may lose.
const logFlushInterval = 100 * time.Millisecond

// logBufferSize is how many bytes of log lines are buffered before the
// writing goroutine flushes them itself rather than waiting for the ticker.
const logBufferSize = 64 << 10

// logWriter buffers the server's log lines and writes them out in one call
// every logFlushInterval. The server logs a line per request, and one write
// syscall per request was measured to cost about 15% of throughput; with
// the buffer, a request normally only copies its line into memory.
//
// The price is that a kill -9 may lose the last logFlushInterval of lines.
// A SIGTERM shutdown loses none: it ends with Close, which writes them out.
//
// Lines are written out whole and in order: slog handlers write a record
// in one call. A burst of more than logBufferSize bytes is written out by
// the goroutine whose Write crosses the bound; should the buffer reach the
// bound again while that write is under way, each further Write waits for
// it, so memory stays bounded however fast lines arrive.
type logWriter struct {
	w io.Writer

	mu     sync.Mutex
	buf    []byte // lines not yet handed to w
	closed bool   // set by Close; later writes are flushed at once

	// writeMu is held from taking buf until it is written to w, so that
	// two flushes cannot write their lines out of order.
	writeMu sync.Mutex
	spare   []byte // guarded by writeMu; the next buf
	err     error  // guarded by writeMu; the first write error not reported

	stop     chan struct{}
	stopOnce sync.Once
	done     chan struct{}
}

// newLogWriter returns a logWriter on w that flushes at least every
// flushEvery, which must be positive, until it is closed.
func newLogWriter(w io.Writer, flushEvery time.Duration) *logWriter {
	lw := &logWriter{
		w:     w,
		buf:   make([]byte, 0, logBufferSize),
		spare: make([]byte, 0, logBufferSize),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	go lw.run(flushEvery)
	return lw
}

func (lw *logWriter) run(flushEvery time.Duration) {
	defer close(lw.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-lw.stop:
			return
		case <-t.C:
			lw.flush(1)
		}
	}
}

// Write buffers p and reports success; a failed write to the underlying
// writer is reported by the next Flush or Close. After Close, Write writes
// p out at once, so lines logged late in a shutdown are not lost.
func (lw *logWriter) Write(p []byte) (int, error) {
	lw.mu.Lock()
	lw.buf = append(lw.buf, p...)
	atLeast := logBufferSize
	if lw.closed {
		atLeast = 1
	}
	flush := len(lw.buf) >= atLeast
	lw.mu.Unlock()
	if flush {
		lw.flush(atLeast)
	}
	return len(p), nil
}

// Flush writes out the lines buffered now and returns the first write error
// since the last Flush. The lines of a failed write are dropped, not retried.
func (lw *logWriter) Flush() error {
	lw.flush(1)
	lw.writeMu.Lock()
	defer lw.writeMu.Unlock()
	err := lw.err
	lw.err = nil
	return err
}

// Close stops the background flushes and writes out everything buffered,
// returning what Flush would. Calling it again is harmless.
func (lw *logWriter) Close() error {
	lw.stopOnce.Do(func() { close(lw.stop) })
	<-lw.done
	lw.mu.Lock()
	lw.closed = true
	lw.mu.Unlock()
	return lw.Flush()
}

// flush writes out the buffered lines if there are at least atLeast bytes
// of them, keeping the first error for Flush to report.
func (lw *logWriter) flush(atLeast int) {
	lw.writeMu.Lock()
	defer lw.writeMu.Unlock()
	lw.mu.Lock()
	if len(lw.buf) < atLeast {
		lw.mu.Unlock()
		return
	}
	full := lw.buf
	lw.buf = lw.spare[:0]
	lw.mu.Unlock()

	n, err := lw.w.Write(full)
	if err == nil && n < len(full) {
		err = io.ErrShortWrite
	}
	if err != nil && lw.err == nil {
		lw.err = err
	}
	// A buffer grown far past the bound by one huge line is not kept.
	lw.spare = nil
	if cap(full) <= 2*logBufferSize {
		lw.spare = full[:0]
	}
}

// buffered returns how many bytes wait for the next flush, for tests.
func (lw *logWriter) buffered() int {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return len(lw.buf)
}
