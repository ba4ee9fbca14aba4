package main

import (
	"math/bits"
	"time"
)

// histogram records latencies in log-linear buckets, as HdrHistogram does:
// each power of two of nanoseconds is split into subBuckets equal steps, so
// any recorded value up to two minutes is known to within 1/subBuckets
// (under 1%), in a fixed array of 32 KiB. Recording is an index computation and an
// increment: no allocation, no lock (each connection has its own histogram;
// they are merged after the run).
type histogram struct {
	counts [numBuckets]uint64
	n      uint64
	sum    time.Duration
	max    time.Duration
}

const (
	subBits    = 7
	subBuckets = 1 << subBits
	// maxRecordable is the largest latency kept as is; longer ones are
	// recorded as this (2^37 ns is over two minutes).
	maxRecordable = 1<<37 - 1
	numBuckets    = (37-subBits)*subBuckets + subBuckets
)

// bucketOf maps v ≥ 0 nanoseconds to its bucket. Values below subBuckets
// have a bucket each; above, a value with n significant bits keeps its top
// subBits+1 bits, and the bucket is that mantissa offset by its octave.
func bucketOf(v int64) int {
	if v < subBuckets {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	return shift*subBuckets + int(v>>shift)
}

// bucketBounds is the inverse of bucketOf: the smallest and largest values
// that fall in bucket i.
func bucketBounds(i int) (lo, hi int64) {
	if i < 2*subBuckets {
		return int64(i), int64(i)
	}
	shift := i/subBuckets - 1
	mantissa := int64(i - shift*subBuckets)
	return mantissa << shift, (mantissa+1)<<shift - 1
}

func (h *histogram) record(d time.Duration) {
	v := int64(d)
	if v < 0 {
		v = 0
	} else if v > maxRecordable {
		v = maxRecordable
	}
	h.counts[bucketOf(v)]++
	h.n++
	h.sum += d
	if d > h.max {
		h.max = d
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// quantile returns the latency at or below which a fraction q of the
// recorded values fall. It answers with the upper edge of the bucket, so it
// never understates a latency, and never more than the largest recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q * float64(h.n))
	if float64(rank) < q*float64(h.n) {
		rank++ // ceiling: p99 of 1000 values is the 990th, not the 989th
	}
	rank = max(rank, 1)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketBounds(i)
			return min(time.Duration(hi), h.max)
		}
	}
	return h.max
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
