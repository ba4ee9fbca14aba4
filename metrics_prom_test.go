package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// /metrics as its users read it: promtool's check, and a real Prometheus
// server that scrapes the admin listener. Both are Debian's prometheus
// package (apt-get install prometheus); .ci/run installs it when missing.

// startMetricsProgram starts the program with an admin listener on a
// fresh database in dir, and returns it with a client of the admin
// listener.
func startMetricsProgram(t *testing.T, dir string) (*program, *client) {
	t.Helper()
	p := startProgram(t, dir, []string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db", "-admin-addr", "127.0.0.1:0"}, cheapPasswords)
	return p, &client{base: p.adminURL(t), http: p.http}
}

// scrape gets /metrics from the admin listener, checks its Content-Type,
// and returns its text.
func scrape(t *testing.T, admin *client) string {
	t.Helper()
	res := admin.callWith(t, "GET", "/metrics", "")
	wantStatus(t, "GET /metrics on the admin listener", res, http.StatusOK)
	if ct := res.header.Get("Content-Type"); ct != promContentType {
		t.Errorf("GET /metrics: Content-Type %q, want %q", ct, promContentType)
	}
	return string(res.body)
}

// promSamples reads the samples of a scrape, by their name and labels as
// written ("x_total{a=\"b\"}"), and checks that each family has its HELP
// and TYPE lines first.
func promSamples(t *testing.T, text string) map[string]float64 {
	t.Helper()
	samples := map[string]float64{}
	typed := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			typed[name] = typ
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		series, value := line[:max(sp, 0)], line[sp+1:]
		name, _, _ := strings.Cut(series, "{")
		family := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f, ok := strings.CutSuffix(name, suffix); ok && typed[f] == promHistogram {
				family = f
			}
		}
		if typed[family] == "" {
			t.Errorf("sample %q comes before its family's TYPE line", line)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			t.Errorf("sample %q: value: %v", line, err)
		}
		samples[series] = v
	}
	return samples
}

// TestMetricsEndpoint starts the program with an admin listener and checks
// what /metrics counts after a sign-up, logins that succeed, fail and are
// throttled, some reads, two requests no route takes and two mails in the
// outbox, one of which failed once: the same counts TestAdminListener reads
// in /debug/vars. It is only on the admin listener.
func TestMetricsEndpoint(t *testing.T) {
	dir := t.TempDir()
	p, admin := startMetricsProgram(t, dir)
	sendCountedTraffic(t, p)
	insertMail(t, dir, 0)
	insertMail(t, dir, 1)

	got := promSamples(t, scrape(t, admin))
	users := `route="GET /api/users/{id}"`
	for series, want := range map[string]float64{
		`tokenapi_http_requests_total{` + users + `,status="200"}`:               3,
		`tokenapi_http_requests_total{` + users + `,status="404"}`:               1,
		`tokenapi_http_requests_total{route="POST /api/tokens",status="200"}`:    1,
		`tokenapi_http_requests_total{route="POST /api/tokens",status="401"}`:    defaultThrottleLimit,
		`tokenapi_http_requests_total{route="POST /api/tokens",status="429"}`:    1,
		`tokenapi_http_requests_total{route="unmatched",status="404"}`:           2,
		`tokenapi_http_request_duration_seconds_bucket{` + users + `,le="+Inf"}`: 4,
		`tokenapi_http_request_duration_seconds_count{` + users + `}`:            4,
		`tokenapi_logins_total{outcome="ok"}`:                                    1,
		`tokenapi_logins_total{outcome="failed"}`:                                defaultThrottleLimit,
		`tokenapi_logins_total{outcome="throttled"}`:                             1,
		`tokenapi_password_hashes_granted_total`:                                 2 + defaultThrottleLimit,
		`tokenapi_password_hashes_running`:                                       0,
		`tokenapi_password_hashes_queued{kind="check"}`:                          0,
		`tokenapi_sessions_live`:                                                 1,
		`tokenapi_outbox_queued_mails`:                                           2,
		`tokenapi_outbox_failed_mails`:                                           1,
		`tokenapi_build_info{version="` + buildVersion(readBuildInfo()) + `"}`:   1,
	} {
		if v, ok := got[series]; !ok || v != want {
			t.Errorf("%s = %v (present: %v), want %v", series, v, ok, want)
		}
	}
	// The first read of the user looks the token and the user up; the two
	// reads after are answered from the caches.
	if !testOnPlainStore() && got[`tokenapi_cache_hits_total{cache="tokens"}`] < 2 {
		t.Errorf("tokens cache hits = %v, want at least 2", got[`tokenapi_cache_hits_total{cache="tokens"}`])
	}
	// Every write went through group commit (the program runs on a file):
	// at least one commit, and never more commits than writes.
	if writes, commits := got["tokenapi_store_writes_total"], got["tokenapi_store_commits_total"]; commits < 1 || commits > writes {
		t.Errorf("store writes = %v, commits = %v; want at least one commit, and no more commits than writes", writes, commits)
	}
	if got["tokenapi_go_goroutines"] < 1 || got["tokenapi_go_heap_alloc_bytes"] <= 0 {
		t.Errorf("the Go runtime's goroutines and heap are %v and %v, want more than 0",
			got["tokenapi_go_goroutines"], got["tokenapi_go_heap_alloc_bytes"])
	}
	// Buckets are cumulative: no bucket holds fewer than the one before.
	for i, b := range latencyBoundsSeconds()[1:] {
		below := got[fmt.Sprintf(`tokenapi_http_request_duration_seconds_bucket{%s,le="%s"}`, users, promValue(latencyBoundsSeconds()[i]))]
		if at := got[fmt.Sprintf(`tokenapi_http_request_duration_seconds_bucket{%s,le="%s"}`, users, promValue(b))]; at < below {
			t.Errorf("bucket le=%v holds %v, fewer than the bucket before it (%v)", b, at, below)
		}
	}
	wantError(t, "GET /metrics on the public address", p.call(t, "GET", "/metrics", "", ""), http.StatusNotFound, "")
}

// insertMail queues a mail that failed attempts times, straight into the
// database of a program that sends none (it has no -smtp-url).
func insertMail(t *testing.T, dir string, attempts int) {
	t.Helper()
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := formatTime(time.Now())
	if _, err := st.write.Exec(`INSERT INTO outbox (recipient, message, created_at, give_up_at, next_attempt_at, attempts)
		VALUES ('muthoni@example.com', 'Subject: hi', ?, ?, ?, ?)`, now, now, now, attempts); err != nil {
		t.Fatal(err)
	}
}

// needPromBinary returns the path of name (promtool, prometheus), or
// skips the test, saying why, when it is not installed.
func needPromBinary(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed (apt-get install prometheus; .ci/run installs it): %v", name, err)
	}
	return path
}

// TestMetricsPassPromtool runs Debian's promtool check metrics on a
// scrape that has every kind of family in it: it must print nothing.
func TestMetricsPassPromtool(t *testing.T) {
	promtool := needPromBinary(t, "promtool")
	dir := t.TempDir()
	p, admin := startMetricsProgram(t, dir)
	_, token := p.newUser(t, "gitau")
	p.createPost(t, token, "a title", "a body")
	wantStatus(t, "GET /api/posts", p.call(t, "GET", "/api/posts", token, ""), http.StatusOK)
	wantError(t, "GET /nowhere", p.call(t, "GET", "/nowhere", "", ""), http.StatusNotFound, "")

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(scrape(t, admin))
	out, err := cmd.CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestPrometheusScrapesMetrics starts a real Prometheus server on loopback
// that scrapes the program's admin listener every second, calls a route,
// and waits until Prometheus's query API returns the route's count of
// requests, as scraped.
func TestPrometheusScrapesMetrics(t *testing.T) {
	prometheus := needPromBinary(t, "prometheus")
	dir := t.TempDir()
	p, admin := startMetricsProgram(t, dir)
	_, token := p.newUser(t, "wanjiru")
	for range 3 {
		wantStatus(t, "GET /api/posts", p.call(t, "GET", "/api/posts", token, ""), http.StatusOK)
	}

	promURL := startPrometheus(t, prometheus, strings.TrimPrefix(admin.base, "http://"))
	query := `tokenapi_http_requests_total{route="GET /api/posts",status="200"}`
	deadline := time.Now().Add(time.Minute)
	for {
		value, err := promQuery(promURL, query)
		if err == nil && value == "3" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Prometheus's %s = %q (%v) after a minute, want 3", query, value, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startPrometheus starts prometheus on a free loopback port, scraping
// target (host:port) every second, with its storage in a temporary
// directory, and returns its URL. It is stopped when the test ends.
func startPrometheus(t *testing.T, prometheus, target string) string {
	t.Helper()
	dir := t.TempDir()
	config := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(config, []byte(fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: tokenapi
    static_configs:
      - targets: [%q]
`, target)), 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freeLoopbackAddr(t)
	cmd := exec.Command(prometheus, "--config.file="+config, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr, "--log.level=warn")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("prometheus log (last lines):\n%s", lastLines(logs.String(), 30))
		}
	})
	return "http://" + addr
}

// freeLoopbackAddr is a loopback address with a port free a moment ago,
// for a program that takes no :0.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// promQuery asks Prometheus's query API for query, and returns the value
// of its one series ("" for none).
func promQuery(base, query string) (string, error) {
	res, err := http.Get(base + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var answer struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Metric map[string]string `json:"metric"`
				Value  [2]any            `json:"value"` // [time, "value"]
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		return "", err
	}
	switch {
	case answer.Status != "success":
		return "", fmt.Errorf("status %q", answer.Status)
	case len(answer.Data.Result) == 0:
		return "", nil
	case len(answer.Data.Result) > 1:
		return "", fmt.Errorf("%d series, want 1", len(answer.Data.Result))
	}
	value, _ := answer.Data.Result[0].Value[1].(string)
	return value, nil
}
