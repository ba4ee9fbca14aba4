package rqlite

import (
	"database/sql/driver"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"testing"
	"time"
)

// What one answer costs in memory, whatever a node answers: counts of
// bytes allocated, not timings, so they hold on a busy machine.

// maxCostPerByte bounds the bytes allocated to read, decode and walk
// through one answer, per byte of it. Reading costs about two (chunks,
// then one slice of the answer's size), decoding next to nothing: rows
// are kept as the answer's own text until Next reads them.
const maxCostPerByte = 3

// costlyAnswers are answers of maxResponse bytes that each cost
// hundreds of MiB when decoded into interface values: head, then elem
// as many times as fits, then tail. wantErr is what the query must be
// refused with, or "" when it must succeed with one row per elem.
var costlyAnswers = []struct {
	name             string
	head, elem, tail string
	wantErr          string
}{
	{"one row of millions of zeros", `{"results":[{"columns":["a"],"types":["integer"],"values":[[`, "0", `]]}]}`,
		"values for 1 columns"},
	{"millions of rows of one zero", `{"results":[{"columns":["a"],"types":["integer"],"values":[`, "[0]", `]}]}`,
		""},
	{"millions of columns", `{"results":[{"columns":[`, `"a"`, `]}]}`,
		"columns, more than"},
	{"millions of results", `{"results":[`, "{}", `]}`,
		"results for one query"},
}

// fill is head, then elem n times separated by commas, then tail, with
// n as large as fits in maxResponse bytes.
func fill(head, elem, tail string) (answer []byte, n int) {
	n = (maxResponse - len(head) - len(tail) + 1) / (len(elem) + 1)
	return []byte(head + strings.Repeat(elem+",", n-1) + elem + tail), n
}

// answerCost runs one query on c, reads every row, and returns the bytes
// allocated meanwhile (a fake node's own included), the rows read, and
// the query's error.
func answerCost(tb testing.TB, c *client) (allocated uint64, rowsRead int, err error) {
	tb.Helper()
	ctx := testContext(tb)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	rows, err := c.query(ctx, testQuery)
	if err == nil {
		dest := make([]driver.Value, len(rows.Columns()))
		for err = rows.Next(dest); err == nil; err = rows.Next(dest) {
			rowsRead++
		}
		if err == io.EOF {
			err = nil
		}
	}
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc, rowsRead, err
}

// answerPeak is about the most heap that one query of c and the walk
// through its rows had in use at once, above what was in use before. It
// samples the heap every 100µs while the collector runs at 5% growth, so
// it is an estimate for a benchmark to report, not a count to assert.
func answerPeak(tb testing.TB, c *client) uint64 {
	tb.Helper()
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	heap := func() uint64 { metrics.Read(sample); return sample[0].Value.Uint64() }
	runtime.GC()
	base, peak := heap(), uint64(0)
	done := make(chan struct{})
	go func() {
		defer close(done)
		answerCost(tb, c)
	}()
	tick := time.NewTicker(100 * time.Microsecond)
	defer tick.Stop()
	for {
		peak = max(peak, heap())
		select {
		case <-done:
			return max(peak, base) - base
		case <-tick.C:
		}
	}
}

// answeringWith is a client of one fake node that answers every query
// with answer. Its first query also makes the connection, which costs a
// few KiB: nothing beside megabytes.
func answeringWith(tb testing.TB, answer []byte) *client {
	tb.Helper()
	node := newFakeNode(tb, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write(answer)
	})
	return fakeClient(tb, node)
}

// A node cannot make one answer cost more than a few times its size: a
// row must have as many values as there are columns, a query one result,
// and rows are turned into Go values one at a time, as Next asks.
func TestAnswerCostIsBounded(t *testing.T) {
	for _, tc := range costlyAnswers {
		t.Run(tc.name, func(t *testing.T) {
			answer, n := fill(tc.head, tc.elem, tc.tail)
			allocated, rowsRead, err := answerCost(t, answeringWith(t, answer))
			switch {
			case tc.wantErr == "" && (err != nil || rowsRead != n):
				t.Errorf("query = %d rows, %.200v; want %d rows", rowsRead, err, n)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("query = %d rows, %.200v; want an error with %q", rowsRead, err, tc.wantErr)
			}
			if limit := maxCostPerByte * uint64(len(answer)); allocated > limit {
				t.Errorf("an answer of %d bytes allocated %d bytes (%.1f per byte), want at most %d (%d per byte)",
					len(answer), allocated, float64(allocated)/float64(len(answer)), limit, maxCostPerByte)
			}
		})
	}
}

// BenchmarkAnswerCost reports, per byte of each costly answer, the bytes
// allocated to read, decode and walk through it (B/answer-byte), and
// about the most heap in use at once meanwhile (peak-B/answer-byte).
func BenchmarkAnswerCost(b *testing.B) {
	for _, tc := range costlyAnswers {
		b.Run(tc.name, func(b *testing.B) {
			answer, _ := fill(tc.head, tc.elem, tc.tail)
			c := answeringWith(b, answer)
			b.SetBytes(int64(len(answer)))
			b.ReportAllocs()
			var total uint64
			for b.Loop() {
				allocated, _, _ := answerCost(b, c)
				total += allocated
			}
			b.ReportMetric(float64(total)/float64(b.N)/float64(len(answer)), "B/answer-byte")
			b.ReportMetric(float64(answerPeak(b, c))/float64(len(answer)), "peak-B/answer-byte")
		})
	}
}
