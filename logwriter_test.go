package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// countingWriter is a thread-safe io.Writer that keeps what it is given
// and counts the calls. While err is set, writes fail; while gate is set,
// writes wait for it to be closed.
type countingWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	calls   int
	largest int // the most bytes passed to one Write
	err     error
	gate    chan struct{}
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	gate := c.gate
	c.mu.Unlock()
	if gate != nil {
		<-gate
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	c.largest = max(c.largest, len(p))
	if c.err != nil {
		return 0, c.err
	}
	return c.buf.Write(p)
}

func (c *countingWriter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *countingWriter) Calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

// waitForLog waits up to 5 s for cond to hold.
func waitForLog(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 5 s, still waiting for %s", what)
		}
	}
}

func writeLine(t *testing.T, w io.Writer, line string) {
	t.Helper()
	if n, err := io.WriteString(w, line); n != len(line) || err != nil {
		t.Fatalf("Write(%q) = %d, %v; want %d, nil", line, n, err, len(line))
	}
}

func TestLogWriterFlushesInBackground(t *testing.T) {
	var cw countingWriter
	lw := newLogWriter(&cw, 10*time.Millisecond)
	defer lw.Close()
	writeLine(t, lw, "one\n")
	writeLine(t, lw, "two\n")
	waitForLog(t, "the lines without a Flush", func() bool { return cw.String() == "one\ntwo\n" })
}

func TestLogWriterWriteDoesNotWrite(t *testing.T) {
	var cw countingWriter
	lw := newLogWriter(&cw, time.Hour)
	defer lw.Close()
	for i := range 100 {
		writeLine(t, lw, fmt.Sprintf("line %d\n", i))
	}
	if n := cw.Calls(); n != 0 {
		t.Fatalf("100 small writes made %d writes to the underlying writer; want 0", n)
	}
	if err := lw.Flush(); err != nil {
		t.Fatal(err)
	}
	if n := cw.Calls(); n != 1 {
		t.Errorf("Flush made %d writes; want 1", n)
	}
	if got := strings.Count(cw.String(), "\n"); got != 100 {
		t.Errorf("after Flush, %d lines; want 100", got)
	}
}

func TestLogWriterClose(t *testing.T) {
	var cw countingWriter
	lw := newLogWriter(&cw, time.Hour)
	var want strings.Builder
	for i := range 1000 {
		line := fmt.Sprintf("line %d\n", i)
		writeLine(t, lw, line)
		want.WriteString(line)
	}
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cw.String(); got != want.String() {
		t.Fatalf("after Close, the log has %d bytes, not the %d written in order", len(got), want.Len())
	}
	if err := lw.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := lw.Flush(); err != nil {
		t.Errorf("Flush after Close: %v", err)
	}

	// After Close, a line is written out at once, and a failure is kept
	// for the next Flush.
	writeLine(t, lw, "late\n")
	want.WriteString("late\n")
	if got := cw.String(); got != want.String() {
		t.Errorf("a line written after Close did not go straight to the end of the log; it ends %q", got[max(0, len(got)-20):])
	}
	errFull := errors.New("disk full")
	cw.mu.Lock()
	cw.err = errFull
	cw.mu.Unlock()
	writeLine(t, lw, "later\n")
	if err := lw.Flush(); !errors.Is(err, errFull) {
		t.Errorf("after a failed write after Close, Flush = %v; want %v", err, errFull)
	}
}

func TestLogWriterConcurrent(t *testing.T) {
	const writers, lines = 16, 2000
	var cw countingWriter
	// A short interval has the ticker's flushes race the bound's flushes.
	lw := newLogWriter(&cw, time.Millisecond)
	line := func(g, i int) string { return fmt.Sprintf("g%02d %05d %s\n", g, i, strings.Repeat("x", 80)) }
	var wg sync.WaitGroup
	for g := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				io.WriteString(lw, line(g, i))
			}
		}()
	}
	wg.Wait()
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}

	next := make([]int, writers) // the next line expected from each writer
	for _, l := range strings.SplitAfter(cw.String(), "\n") {
		if l == "" {
			continue
		}
		var g, i int
		if _, err := fmt.Sscanf(l, "g%d %d", &g, &i); err != nil || g < 0 || g >= writers || l != line(g, i) {
			t.Fatalf("mangled line %q", l)
		}
		if i != next[g] {
			t.Fatalf("from writer %d, line %d came when line %d was due", g, i, next[g])
		}
		next[g]++
	}
	for g, n := range next {
		if n != lines {
			t.Errorf("writer %d: %d lines arrived; want %d", g, n, lines)
		}
	}
}

func TestLogWriterBurst(t *testing.T) {
	var cw countingWriter
	lw := newLogWriter(&cw, time.Hour) // the ticker never fires
	defer lw.Close()
	line := strings.Repeat("x", 999) + "\n"
	const n = 10 * logBufferSize / 1000
	for range n {
		writeLine(t, lw, line)
	}
	// Everything but less than a bound's worth is out without a Flush.
	if got := len(cw.String()); got <= n*len(line)-logBufferSize {
		t.Errorf("after a burst of %d bytes, %d were written; want all but less than %d", n*len(line), got, logBufferSize)
	}
	cw.mu.Lock()
	largest := cw.largest
	cw.mu.Unlock()
	if largest > logBufferSize+len(line) {
		t.Errorf("one write of %d bytes: the buffer grew past %d", largest, logBufferSize+len(line))
	}
}

func TestLogWriterBoundedWhileWriting(t *testing.T) {
	const writers = 8
	cw := countingWriter{gate: make(chan struct{})}
	lw := newLogWriter(&cw, time.Hour)
	line := strings.Repeat("x", 99) + "\n"
	const lines = 4 * logBufferSize / 100 // per writer
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range lines {
				io.WriteString(lw, line)
			}
		}()
	}
	// The first full buffer is stuck in the underlying writer; wait until the
	// next one is full too, then give the writers time to overfill it.
	buffered := lw.buffered
	waitForLog(t, "a second full buffer", func() bool { return buffered() >= logBufferSize })
	time.Sleep(50 * time.Millisecond)
	if got, limit := buffered(), logBufferSize+writers*len(line); got > limit {
		t.Errorf("while the underlying writer was stuck, %d bytes were buffered; want at most %d", got, limit)
	}
	close(cw.gate)
	wg.Wait()
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := len(cw.String()), writers*lines*len(line); got != want {
		t.Errorf("%d bytes arrived; want %d", got, want)
	}
}

func TestLogWriterError(t *testing.T) {
	errFull := errors.New("disk full")
	cw := countingWriter{err: errFull}
	lw := newLogWriter(&cw, time.Hour)
	writeLine(t, lw, "lost\n")
	if err := lw.Flush(); !errors.Is(err, errFull) {
		t.Fatalf("Flush = %v; want %v", err, errFull)
	}
	if err := lw.Flush(); err != nil {
		t.Errorf("second Flush = %v; want the error reported once", err)
	}
	if n := cw.Calls(); n != 1 {
		t.Errorf("a failed write was tried %d times; want 1", n)
	}

	cw.mu.Lock()
	cw.err = nil
	cw.mu.Unlock()
	writeLine(t, lw, "kept\n")
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	if got := cw.String(); got != "kept\n" {
		t.Errorf("after the error, the log is %q; want %q", got, "kept\n")
	}
}

func TestLogWriterBackgroundErrorReportedByClose(t *testing.T) {
	errFull := errors.New("disk full")
	cw := countingWriter{err: errFull}
	lw := newLogWriter(&cw, time.Millisecond)
	writeLine(t, lw, "lost\n")
	waitForLog(t, "a background flush", func() bool { return cw.Calls() > 0 })
	if err := lw.Close(); !errors.Is(err, errFull) {
		t.Errorf("Close = %v; want %v", err, errFull)
	}
}

func BenchmarkLogWriter(b *testing.B) {
	line := []byte("time=2026-11-29T12:00:00.000Z level=INFO msg=request method=GET path=/users/42 status=200 duration=312µs user=42\n")
	for _, buffered := range []bool{false, true} {
		b.Run(fmt.Sprintf("buffered=%v", buffered), func(b *testing.B) {
			f, err := os.Create(filepath.Join(b.TempDir(), "log"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var w io.Writer = f
			if buffered {
				lw := newLogWriter(f, logFlushInterval)
				defer lw.Close()
				w = lw
			}
			b.SetBytes(int64(len(line)))
			b.ReportAllocs()
			for b.Loop() {
				w.Write(line)
			}
		})
	}
}
