package main

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Buckets tile the range with no gap or overlap, bucketOf and
// bucketBounds agree, and each bucket is narrower than 1/128 of its values.
func TestBucketsTileTheRange(t *testing.T) {
	wantLo := int64(0)
	for i := range numBuckets {
		lo, hi := bucketBounds(i)
		if lo != wantLo {
			t.Fatalf("bucket %d starts at %d, want %d (right after the previous one)", i, lo, wantLo)
		}
		if hi < lo {
			t.Fatalf("bucket %d = [%d, %d]", i, lo, hi)
		}
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", lo, got, i)
		}
		if got := bucketOf(hi); got != i {
			t.Fatalf("bucketOf(%d) = %d, want %d", hi, got, i)
		}
		if width := hi - lo + 1; width > 1 && float64(width)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d = [%d, %d] is %.2f%% wide", i, lo, hi, 100*float64(width)/float64(lo))
		}
		wantLo = hi + 1
	}
	if wantLo != maxRecordable+1 {
		t.Errorf("the last bucket ends at %d, want %d", wantLo-1, int64(maxRecordable))
	}
}

// Quantiles match the exact ones from a sorted copy to within a bucket,
// and never understate.
func TestQuantileAgainstSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h histogram
	values := make([]time.Duration, 100_000)
	for i := range values {
		// Skewed like real latencies: from 0.2 ms to about half a second.
		v := time.Duration(float64(time.Millisecond) * (rng.ExpFloat64() + 0.2) * (1 + float64(rng.IntN(100))*rng.Float64()))
		values[i] = v
		h.record(v)
	}
	slices.Sort(values)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		// The rank-th smallest, rank = ceil(q*n), as quantile defines it.
		exact := values[max(int(math.Ceil(q*float64(len(values))))-1, 0)]
		got := h.quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subBuckets {
			t.Errorf("quantile(%v) = %v, want %v to %.2f%% above it", q, got, exact, 100.0/subBuckets)
		}
	}
	if h.max != values[len(values)-1] || h.quantile(1) != h.max {
		t.Errorf("max = %v, quantile(1) = %v; want both %v", h.max, h.quantile(1), values[len(values)-1])
	}
	if h.n != uint64(len(values)) {
		t.Errorf("n = %d, want %d", h.n, len(values))
	}
}

func TestQuantileSmallCounts(t *testing.T) {
	var h histogram
	if got := h.quantile(0.99); got != 0 {
		t.Errorf("empty quantile(0.99) = %v, want 0", got)
	}
	for i := 1; i <= 1000; i++ {
		h.record(time.Duration(i) * time.Microsecond)
	}
	// p99 of 1..1000 µs is the 990th value, p99.9 the 999th.
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}, {0.999, 999 * time.Microsecond}} {
		got := h.quantile(tt.q)
		if got < tt.want || got > tt.want+tt.want/subBuckets {
			t.Errorf("quantile(%v) of 1..1000µs = %v, want %v (+%.2f%%)", tt.q, got, tt.want, 100.0/subBuckets)
		}
	}
	if got := h.mean(); got != 500500*time.Nanosecond {
		t.Errorf("mean = %v, want 500.5µs", got)
	}
}

func TestRecordClampsAndMerges(t *testing.T) {
	var a, b histogram
	a.record(-time.Second) // a clock step back must not index out of range
	a.record(time.Hour)    // beyond the range: counted in the last bucket
	b.record(3 * time.Millisecond)
	a.merge(&b)
	if a.n != 3 || a.max != time.Hour {
		t.Fatalf("after merge n = %d, max = %v; want 3, 1h", a.n, a.max)
	}
	if got := a.quantile(0.5); got < 3*time.Millisecond || got > 3*time.Millisecond*(subBuckets+1)/subBuckets {
		t.Errorf("median = %v, want about 3ms", got)
	}
	if a.counts[numBuckets-1] != 1 {
		t.Errorf("last bucket holds %d, want 1 (the clamped hour)", a.counts[numBuckets-1])
	}
}

func TestRecordDoesNotAllocate(t *testing.T) {
	h := new(histogram)
	d := 1234567 * time.Nanosecond
	if allocs := testing.AllocsPerRun(1000, func() { h.record(d) }); allocs != 0 {
		t.Errorf("record allocates %v times per call, want 0", allocs)
	}
}
