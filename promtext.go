package main

import (
	"bufio"
	"io"
	"math"
	"strconv"
	"strings"
)

// promContentType is the Content-Type of Prometheus's text exposition
// format, version 0.0.4: what a Prometheus server asks for first, and the
// format every scraper of the last ten years reads.
const promContentType = "text/plain; version=0.0.4; charset=utf-8"

// promWriter writes metric families in Prometheus's text exposition format,
// version 0.0.4, which metrics_prom.go serves at /metrics. A family is a
// "# HELP" line, a "# TYPE" line and its samples, one a line:
//
//	# HELP tokenapi_logins_total Logins (POST /api/tokens with Basic credentials), by outcome.
//	# TYPE tokenapi_logins_total counter
//	tokenapi_logins_total{outcome="ok"} 12
//
// The writer owns the format's few rules, so that no caller builds a line
// by hand: the escapes of HELP text and label values, how a value is
// spelled (+Inf, NaN), and a histogram's cumulative buckets. It keeps the
// first write error, as bufio.Writer does; flush returns it.
//
// Names of metrics and labels are the caller's constants, not escaped;
// TestMetricsEndpointPassesPromtool holds them to the format.
type promWriter struct {
	w *bufio.Writer
}

func newPromWriter(w io.Writer) *promWriter {
	return &promWriter{w: bufio.NewWriter(w)}
}

// Metric types, for family.
const (
	promCounter   = "counter"
	promGauge     = "gauge"
	promHistogram = "histogram"
)

// family starts a metric family: its HELP and TYPE lines. Its samples
// follow, and no other family's until the next call.
func (p *promWriter) family(name, typ, help string) {
	p.w.WriteString("# HELP " + name + " ")
	p.w.WriteString(helpEscaper.Replace(help))
	p.w.WriteString("\n# TYPE " + name + " " + typ + "\n")
}

// sample writes one sample of the family just started. labels are name and
// value pairs: sample("x_total", 3, "route", "GET /", "status", "200")
// writes x_total{route="GET /",status="200"} 3.
func (p *promWriter) sample(name string, value float64, labels ...string) {
	p.w.WriteString(name)
	p.labels(labels, "", "")
	p.w.WriteByte(' ')
	p.w.WriteString(promValue(value))
	p.w.WriteByte('\n')
}

// histogram writes a histogram's samples under the family name, just
// started: a name_bucket line for each upper bound and one for +Inf,
// each counting the observations at most its bound (cumulative: counts
// holds them by bucket, not cumulative, with one more at its end for those
// above every bound), then name_sum (sum) and name_count. labels are as
// sample's, and must not name "le".
func (p *promWriter) histogram(name string, bounds []float64, counts []uint64, sum float64, labels ...string) {
	var below uint64
	for i, n := range counts {
		below += n
		le := math.Inf(1)
		if i < len(bounds) {
			le = bounds[i]
		}
		p.w.WriteString(name + "_bucket")
		p.labels(labels, "le", promValue(le))
		p.w.WriteString(" " + strconv.FormatUint(below, 10) + "\n")
	}
	p.sample(name+"_sum", sum, labels...)
	p.sample(name+"_count", float64(below), labels...)
}

// labels writes {a="1",b="2"} for the pairs, and the pair extra=value
// after them if extra is not "": nothing for no labels at all.
func (p *promWriter) labels(pairs []string, extra, value string) {
	if len(pairs) == 0 && extra == "" {
		return
	}
	p.w.WriteByte('{')
	for i := 0; i+1 < len(pairs); i += 2 {
		if i > 0 {
			p.w.WriteByte(',')
		}
		p.label(pairs[i], pairs[i+1])
	}
	if extra != "" {
		if len(pairs) > 0 {
			p.w.WriteByte(',')
		}
		p.label(extra, value)
	}
	p.w.WriteByte('}')
}

func (p *promWriter) label(name, value string) {
	p.w.WriteString(name + `="`)
	p.w.WriteString(labelEscaper.Replace(value))
	p.w.WriteByte('"')
}

// flush writes what is buffered, and returns the first error of any write.
func (p *promWriter) flush() error {
	return p.w.Flush()
}

// The format's escapes: in HELP text a backslash and a line feed; in a
// label value those and the double quote. Nothing else is escaped (a tab
// or a UTF-8 character is written as it is).
var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

// promValue spells a value as the format does: as Go's ParseFloat reads
// it, with "+Inf", "-Inf" and "NaN"; a whole number without an exponent up
// to 2^53, past which a float64 is no longer exact anyway.
func promValue(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	case math.IsNaN(v):
		return "NaN"
	case v == math.Trunc(v) && math.Abs(v) < 1<<53:
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}
