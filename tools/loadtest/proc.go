package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Memory and CPU come from Linux's /proc. Elsewhere they are reported as
// unknown and the load numbers stand alone.

// userHZ is the unit of CPU times in /proc: fixed at 100 per second for
// user space on Linux, whatever the kernel's own tick rate.
const userHZ = 100

// processTree returns pid and all its descendants. A server started
// through sh -c, or one that forks workers (gunicorn, Flask's reloader),
// is more than one process; its memory and CPU are the sum.
func processTree(pid int) []int {
	parent := make(map[int][]int)
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if fields, ok := statFields(child); ok {
			ppid, _ := strconv.Atoi(fields[1])
			parent[ppid] = append(parent[ppid], child)
		}
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, parent[tree[i]]...)
	}
	return tree
}

// statFields returns the fields of /proc/pid/stat after the command name
// (which may hold spaces), so fields[0] is the state, fields[1] the parent,
// fields[11] and fields[12] user and system CPU time.
func statFields(pid int) ([]string, bool) {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return nil, false
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, false
	}
	fields := strings.Fields(string(data[i+1:]))
	return fields, len(fields) > 12
}

// memory is a process tree's resident set: now and at its peak.
type memory struct {
	rss, peak int64 // bytes
	procs     int
}

// readMemory sums VmRSS and VmHWM of pid's tree. ok is false when /proc
// does not know pid.
func readMemory(pid int) (m memory, ok bool) {
	for _, p := range processTree(pid) {
		data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p), "status"))
		if err != nil {
			continue
		}
		m.rss += statusKB(data, "VmRSS:") * 1024
		m.peak += statusKB(data, "VmHWM:") * 1024
		m.procs++
	}
	return m, m.procs > 0
}

// statusKB reads a "Name:   1234 kB" line of /proc/pid/status.
func statusKB(status []byte, name string) int64 {
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// treeCPUTicks sums the CPU time of pid's tree, in userHZ ticks.
func treeCPUTicks(pid int) (int64, bool) {
	var total int64
	found := false
	for _, p := range processTree(pid) {
		if t, ok := cpuTicks(p); ok {
			total += t
			found = true
		}
	}
	return total, found
}

// cpuTicks is one process's user and system CPU time, in userHZ ticks.
func cpuTicks(pid int) (int64, bool) {
	fields, ok := statFields(pid)
	if !ok {
		return 0, false
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return utime + stime, true
}

// machineTicks is the whole machine's busy CPU time from /proc/stat, in
// userHZ ticks.
func machineTicks() (int64, bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line)
	if len(fields) < 8 || fields[0] != "cpu" {
		return 0, false
	}
	var busy int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i >= 8 { // guest time is already counted in user
			break
		}
		n, _ := strconv.ParseInt(f, 10, 64)
		busy += n
	}
	return busy, true
}

// cpuSample is a moment's CPU counters: the server's (when its pid is
// known), this process's, and the machine's.
type cpuSample struct {
	at                    time.Time
	server, self, machine int64
	serverOK, machineOK   bool
}

func sampleCPU(serverPID int) cpuSample {
	s := cpuSample{at: time.Now()}
	if serverPID > 0 {
		s.server, s.serverOK = treeCPUTicks(serverPID)
	}
	// This process alone: the servers it starts are its children.
	s.self, _ = cpuTicks(os.Getpid())
	s.machine, s.machineOK = machineTicks()
	return s
}

// cpuUse is CPU time between two samples in cores (1.0 is one CPU busy for
// the whole interval). Other is what the rest of the machine used: on a
// shared machine, a large value means the numbers are disturbed.
type cpuUse struct {
	server, bench, other float64
	serverOK, machineOK  bool
}

func cpuBetween(a, b cpuSample) cpuUse {
	secs := b.at.Sub(a.at).Seconds()
	if secs <= 0 {
		return cpuUse{}
	}
	cores := func(ticks int64) float64 { return float64(ticks) / userHZ / secs }
	u := cpuUse{
		server:    cores(b.server - a.server),
		bench:     cores(b.self - a.self),
		serverOK:  a.serverOK && b.serverOK,
		machineOK: a.machineOK && b.machineOK,
	}
	if u.machineOK {
		u.other = max(cores(b.machine-a.machine)-u.bench-u.server, 0)
	}
	return u
}

// format describes the use; rate (requests per second) turns the
// server's share into CPU time per request, which moves less than req/s
// when other work shares the machine.
func (u cpuUse) format(rate float64) string {
	server := "?"
	if u.serverOK {
		server = fmt.Sprintf("%.2f", u.server)
		if rate > 0 {
			server += fmt.Sprintf(" (%.0fµs per request)", u.server/rate*1e6)
		}
	}
	other := "?"
	if u.machineOK {
		other = fmt.Sprintf("%.2f", u.other)
	}
	return fmt.Sprintf("server %s, bench %.2f, other %s", server, u.bench, other)
}
