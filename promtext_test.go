package main

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// writeProm returns what f writes through a promWriter.
func writeProm(t *testing.T, f func(p *promWriter)) string {
	t.Helper()
	var b bytes.Buffer
	p := newPromWriter(&b)
	f(p)
	if err := p.flush(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestPromWriterEscapes checks the format's escapes: a backslash and a
// line feed in HELP text; those and a double quote in a label value; and
// nothing else (a tab, UTF-8 and braces pass as they are).
func TestPromWriterEscapes(t *testing.T) {
	got := writeProm(t, func(p *promWriter) {
		p.family("x_total", promCounter, "a \\ backslash,\na line feed and \"quotes\"")
		p.sample("x_total", 1, "route", "GET /a/{id}", "odd", "a\\b\nc\"d\te é")
		p.sample("x_total", 2)
	})
	want := `# HELP x_total a \\ backslash,\na line feed and "quotes"
# TYPE x_total counter
x_total{route="GET /a/{id}",odd="a\\b\nc\"d` + "\t" + `e é"} 1
x_total 2
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestPromWriterValues checks how values are spelled: whole numbers
// without an exponent, fractions as Go's shortest form, and the format's
// +Inf, -Inf and NaN.
func TestPromWriterValues(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {7, "7"}, {-3, "-3"}, {1e15, "1000000000000000"}, {0.0005, "0.0005"},
		{2.5, "2.5"}, {1 << 60, "1.152921504606847e+18"},
		{math.Inf(1), "+Inf"}, {math.Inf(-1), "-Inf"}, {math.NaN(), "NaN"},
	} {
		if got := promValue(tc.v); got != tc.want {
			t.Errorf("promValue(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// TestPromWriterHistogram checks that a histogram's buckets are
// cumulative, that the last is +Inf and holds every observation, that
// _count is the same number, and that le follows the other labels.
func TestPromWriterHistogram(t *testing.T) {
	got := writeProm(t, func(p *promWriter) {
		p.family("d_seconds", promHistogram, "Durations.")
		// 2 at most 0.1 s, 0 in (0.1, 1], 3 in (1, 2.5], 1 slower.
		p.histogram("d_seconds", []float64{0.1, 1, 2.5}, []uint64{2, 0, 3, 1}, 9.75, "route", "GET /")
	})
	want := `# HELP d_seconds Durations.
# TYPE d_seconds histogram
d_seconds_bucket{route="GET /",le="0.1"} 2
d_seconds_bucket{route="GET /",le="1"} 2
d_seconds_bucket{route="GET /",le="2.5"} 5
d_seconds_bucket{route="GET /",le="+Inf"} 6
d_seconds_sum{route="GET /"} 9.75
d_seconds_count{route="GET /"} 6
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	unlabelled := writeProm(t, func(p *promWriter) { p.histogram("e", nil, []uint64{4}, 1, nil...) })
	if want := "e_bucket{le=\"+Inf\"} 4\ne_sum 1\ne_count 4\n"; unlabelled != want {
		t.Errorf("a histogram of one bucket, no labels:\n%s\nwant\n%s", unlabelled, want)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("gone") }

// TestPromWriterKeepsError checks that a write error, such as a scraper
// that hung up, comes back from flush.
func TestPromWriterKeepsError(t *testing.T) {
	p := newPromWriter(failingWriter{})
	p.family("x", promGauge, "X.")
	p.sample("x", 1)
	if err := p.flush(); err == nil {
		t.Errorf("flush to a failing writer = nil, want its error")
	}
}
