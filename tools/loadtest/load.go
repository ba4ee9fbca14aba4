package main

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// The load is closed-loop: each connection has one goroutine that sends a
// request, waits for the whole response, and sends the next. Latency is
// measured from just before the write to the end of the body, so a server
// that stalls also slows the rate of requests (no coordinated-omission
// correction: the numbers are what 64 eager clients would see).

// Phases of a run. Workers read the phase after each response: only
// responses that end during phaseMeasure count.
const (
	phaseWarmup int32 = iota
	phaseMeasure
	phaseStop
)

// reconnectPause keeps a worker whose server refuses connections from
// spinning through dial errors.
const reconnectPause = 10 * time.Millisecond

// loadConfig is one load run against one server.
type loadConfig struct {
	addr     string // host:port to dial
	warmup   time.Duration
	duration time.Duration
	// grace is how long requests still in flight at the end may take
	// before they count as timeouts.
	grace time.Duration
	// names are the mix's scenarios; requests[k][s] is connection k's
	// request for names[s]; cycle is the schedule of indexes into names.
	names    []string
	requests [][][]byte
	cycle    []int
}

// scenarioStats is what one connection saw of one scenario. Fixed-size
// arrays, so that counting a response never allocates.
type scenarioStats struct {
	latency   histogram
	status    [600]uint64 // by HTTP status code
	transport [numErrKinds]uint64
	firstErr  [numErrKinds]string
}

func (s *scenarioStats) merge(o *scenarioStats) {
	s.latency.merge(&o.latency)
	for i, c := range o.status {
		s.status[i] += c
	}
	for k, c := range o.transport {
		s.transport[k] += c
		if s.firstErr[k] == "" {
			s.firstErr[k] = o.firstErr[k]
		}
	}
}

// worker is one connection and its goroutine.
type worker struct {
	cfg      *loadConfig
	phase    *atomic.Int32
	requests [][]byte
	next     int // position in cfg.cycle
	stats    []scenarioStats
	dials    uint64 // connections opened while measuring

	mu sync.Mutex // guards c against the deadline set when the run ends
	c  *conn
}

// loadResult is a run's totals.
type loadResult struct {
	elapsed     time.Duration
	byScenario  []scenarioStats // in the order of loadConfig.names
	total       scenarioStats
	connections int
	dials       uint64
}

// runLoad warms up, measures, then stops every connection. measureStart
// and measureEnd, if not nil, are called as the measured window opens and
// closes, to sample CPU and memory on the same edges.
func runLoad(ctx context.Context, cfg *loadConfig, measureStart, measureEnd func()) *loadResult {
	var phase atomic.Int32
	workers := make([]*worker, len(cfg.requests))
	var wg sync.WaitGroup
	for k := range workers {
		w := &worker{
			cfg:      cfg,
			phase:    &phase,
			requests: cfg.requests[k],
			next:     k % len(cfg.cycle),
			stats:    make([]scenarioStats, len(cfg.names)),
		}
		workers[k] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run()
		}()
	}

	sleep(ctx, cfg.warmup)
	if measureStart != nil {
		measureStart()
	}
	start := time.Now()
	phase.Store(phaseMeasure)
	sleep(ctx, cfg.duration)
	phase.Store(phaseStop)
	elapsed := time.Since(start)
	if measureEnd != nil {
		measureEnd()
	}

	// A request in flight now has grace to finish; one that does not is a
	// timeout. A worker that dials after this sees phaseStop and quits.
	deadline := time.Now().Add(cfg.grace)
	for _, w := range workers {
		w.mu.Lock()
		if w.c != nil {
			w.c.nc.SetDeadline(deadline)
		}
		w.mu.Unlock()
	}
	wg.Wait()

	res := &loadResult{elapsed: elapsed, byScenario: make([]scenarioStats, len(cfg.names)), connections: len(workers)}
	for _, w := range workers {
		for s := range w.stats {
			res.byScenario[s].merge(&w.stats[s])
		}
		res.dials += w.dials
	}
	for s := range res.byScenario {
		res.total.merge(&res.byScenario[s])
	}
	return res
}

func (w *worker) run() {
	defer w.closeConn()
	for {
		ph := w.phase.Load()
		if ph == phaseStop {
			return
		}
		if w.c == nil && !w.connect(ph) {
			continue
		}
		s := w.cfg.cycle[w.next]
		if w.next++; w.next == len(w.cfg.cycle) {
			w.next = 0
		}

		start := time.Now()
		status, keepAlive, err := w.c.roundTrip(w.requests[s])
		elapsed := time.Since(start)

		switch ph := w.phase.Load(); {
		case ph == phaseMeasure && err == nil:
			st := &w.stats[s]
			st.latency.record(elapsed)
			st.status[min(status, len(st.status)-1)]++
		case ph == phaseMeasure, ph == phaseStop && err != nil && classify(err) == errTimeout:
			// A timeout after the end is a request the server never
			// answered within -timeout: an error, however late it came.
			w.countErr(s, err)
		}
		if err != nil || !keepAlive {
			w.closeConn()
		}
	}
}

// connect dials; it reports whether the worker has a connection to use.
func (w *worker) connect(ph int32) bool {
	c, err := dial(w.cfg.addr)
	if err != nil {
		if ph == phaseMeasure {
			// A dial error belongs to the first scenario of the mix: it has
			// to be shown somewhere, and it is not any one request's.
			w.stats[0].transport[errConnect]++
			if w.stats[0].firstErr[errConnect] == "" {
				w.stats[0].firstErr[errConnect] = err.Error()
			}
		}
		time.Sleep(reconnectPause)
		return false
	}
	w.mu.Lock()
	w.c = c
	w.mu.Unlock()
	if w.phase.Load() == phaseStop {
		// runLoad may have set the deadlines before this conn existed;
		// the loop quits instead of sending on it.
		return false
	}
	if ph == phaseMeasure {
		w.dials++
	}
	return true
}

func (w *worker) countErr(s int, err error) {
	kind := classify(err)
	st := &w.stats[s]
	st.transport[kind]++
	if st.firstErr[kind] == "" {
		st.firstErr[kind] = err.Error()
	}
}

func (w *worker) closeConn() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.c != nil {
		w.c.close()
		w.c = nil
	}
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
