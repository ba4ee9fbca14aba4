package main

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// runReport is one measured run and what was sampled around it.
type runReport struct {
	label  string // "target" or "baseline"
	names  []string
	result *loadResult
	cpu    cpuUse
	mem    memory
	memOK  bool
}

// errorCount is the responses that were not 2xx plus the transport errors.
func (s *scenarioStats) errorCount() uint64 {
	var n uint64
	for code, c := range s.status {
		if code < 200 || code > 299 {
			n += c
		}
	}
	for _, c := range s.transport {
		n += c
	}
	return n
}

// errorSummary breaks errors down: "401 ×12, closed ×2 (EOF)".
func (s *scenarioStats) errorSummary() string {
	var parts []string
	for code, c := range s.status {
		if c > 0 && (code < 200 || code > 299) {
			parts = append(parts, fmt.Sprintf("%d ×%d", code, c))
		}
	}
	for k, c := range s.transport {
		if c > 0 {
			parts = append(parts, fmt.Sprintf("%s ×%d (%s)", errKind(k), c, s.firstErr[k]))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *runReport) rate(s *scenarioStats) float64 {
	return float64(s.latency.n) / r.result.elapsed.Seconds()
}

func (r *runReport) errorCount() uint64 { return r.result.total.errorCount() }

// printReport writes the table of runs, the ratio of the first to the
// second, and each run's memory, CPU and errors.
func printReport(w io.Writer, runs []*runReport) {
	const rowFormat = "%-14s %10s %9s %9s %9s %9s %10s %7s\n"
	fmt.Fprintf(w, rowFormat, "", "req/s", "p50", "p99", "p99.9", "max", "requests", "errors")
	row := func(label string, r *runReport, s *scenarioStats) {
		h := &s.latency
		fmt.Fprintf(w, rowFormat, label, fmt.Sprintf("%.1f", r.rate(s)),
			fmtLatency(h.quantile(0.50)), fmtLatency(h.quantile(0.99)),
			fmtLatency(h.quantile(0.999)), fmtLatency(h.max),
			fmt.Sprint(h.n), fmt.Sprint(s.errorCount()))
	}
	for _, r := range runs {
		row(r.label, r, &r.result.total)
		if len(r.names) > 1 {
			for i, name := range r.names {
				row("  "+name, r, &r.result.byScenario[i])
			}
		}
	}

	if len(runs) == 2 && runs[1].rate(&runs[1].result.total) > 0 {
		fmt.Fprintf(w, "\ntarget/baseline req/s: %.3f\n", runs[0].rate(&runs[0].result.total)/runs[1].rate(&runs[1].result.total))
	}
	fmt.Fprintln(w)
	for _, r := range runs {
		mem := "RSS unknown"
		if r.memOK {
			mem = fmt.Sprintf("RSS %s at end (peak %s)", fmtBytes(r.mem.rss), fmtBytes(r.mem.peak))
			if r.mem.procs > 1 {
				mem += fmt.Sprintf(" over %d processes", r.mem.procs)
			}
		}
		fmt.Fprintf(w, "%-8s  %s; %d connections, %d opened while measuring\n",
			r.label, mem, r.result.connections, r.result.dials)
		fmt.Fprintf(w, "%-8s  CPU cores: %s\n", "", r.cpu.format(r.rate(&r.result.total)))
		if len(r.names) > 1 {
			for i, name := range r.names {
				if s := &r.result.byScenario[i]; s.errorCount() > 0 {
					fmt.Fprintf(w, "%-8s  %s errors: %s\n", "", name, s.errorSummary())
				}
			}
		} else if r.errorCount() > 0 {
			fmt.Fprintf(w, "%-8s  errors: %s\n", "", r.result.total.errorSummary())
		}
	}
}

// fmtLatency keeps three significant digits or so: µs below 1 ms.
func fmtLatency(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d)/float64(time.Microsecond))
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

func fmtBytes(n int64) string {
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
