package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The helpers every test shares, in three parts:
//   - newTestServer: the real handler stack behind httptest, on a fresh
//     SQLite file, with a clock the test moves. Most tests use it.
//   - startProgram: the whole program in a process of its own, as an
//     operator runs it, for tests that signal it, kill it or restart it.
//   - client: how a test talks to either one (call, callBasic, callWith;
//     do, for a test that must live with getting no answer), and the
//     checks of what comes back (wantStatus, wantError, wantJSON).

// testPasswordIterations keeps PBKDF2 cheap in tests; the cost is stored
// with each hash, so the code under test is the same.
const testPasswordIterations = 1000

// testSecretKey is the key that seals the TOTP secrets of the tests'
// servers (secrets.go), given as TOKENAPI_SECRET_KEY would give it.
const testSecretKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// testStoreEnv names the store the tests' servers run on: "plain" for
// sqlStore as it is, anything else for the caching store that run puts
// around it. CI runs the suite on both, so the seam between them stays
// real: either store alone makes a correct service.
const testStoreEnv = "TOKENAPI_TEST_STORE"

func testOnPlainStore() bool { return os.Getenv(testStoreEnv) == "plain" }

// testServer is the real handler stack behind a real HTTP server, on a
// fresh SQLite file in a temporary directory (or a fresh rqlite database
// when TOKENAPI_TEST_RQLITE names a cluster), with a clock the test moves.
type testServer struct {
	client // to the server
	srv    *server
	db     *sqlStore     // for the test's own SQL
	cache  *cachingStore // the store the server uses, around db; nil on the plain store
	dbPath string
	clock  *testClock
	logs   *syncBuffer
}

// newTestServer starts a server on the store testStoreEnv names.
func newTestServer(t testing.TB, options ...func(*config)) *testServer {
	t.Helper()
	return newTestServerAt(t, freshTestDB(t), options...)
}

// newTestServerAt is newTestServer on the database file at dbPath, which
// may exist already, or on the rqlite cluster dbPath names (see
// rqlitehelpers_test.go).
func newTestServerAt(t testing.TB, dbPath string, options ...func(*config)) *testServer {
	t.Helper()
	return startTestServer(t, dbPath, !testOnPlainStore(), options...)
}

// newCachingTestServer starts a server on the caching store whatever
// testStoreEnv says, for the tests of what the caching store adds.
func newCachingTestServer(t testing.TB, options ...func(*config)) *testServer {
	t.Helper()
	return startTestServer(t, freshTestDB(t), true, options...)
}

// freshTestDB is a new SQLite file in the test's temporary directory, or a
// fresh database on the cluster TOKENAPI_TEST_RQLITE names.
func freshTestDB(t testing.TB) string {
	t.Helper()
	if url := rqliteTestURL(); url != "" {
		return cleanRqlite(t, url)
	}
	return filepath.Join(t.TempDir(), "tokenapi.db")
}

func startTestServer(t testing.TB, dbPath string, caching bool, options ...func(*config)) *testServer {
	t.Helper()
	db, err := openStore(context.Background(), dbPath)
	if err != nil {
		t.Fatalf("openStore: %v", err)
	}
	clock := &testClock{now: time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)}
	cfg := defaultConfig()
	cfg.passwordIterations = testPasswordIterations
	cfg.now = clock.Now
	if cfg.secrets, err = openSecrets(context.Background(), db, dbPath, "", testSecretKey); err != nil {
		t.Fatalf("openSecrets: %v", err)
	}
	for _, option := range options {
		option(&cfg)
	}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	var st store = db
	var cache *cachingStore
	if caching {
		// The background writer waits an hour: the test's clock runs it.
		cache = newCachingStore(db, log, cfg.now, cfg.tokenTTL, time.Hour)
		st = cache
		// In real time the writer runs every second; a test's clock jumps,
		// so the writer runs at each jump.
		clock.afterMove = func() { cache.flushNotedUses(context.Background()) }
	}
	srv := newServer(st, log, cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		st.Close()
	})
	return &testServer{client: client{base: hs.URL, http: hs.Client()},
		srv: srv, db: db, cache: cache, dbPath: dbPath, clock: clock, logs: logs}
}

// count returns the number of rows of a table, read straight from SQLite.
func (ts *testServer) count(t testing.TB, table string) int {
	t.Helper()
	var n int
	// The table name is the test's own constant, not input.
	if err := ts.db.read.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// testClock is a clock that moves only when told to.
type testClock struct {
	mu  sync.Mutex
	now time.Time
	// afterMove, when set, runs each time the clock has moved: what the
	// server does in the background every second of real time has then
	// had its chance to run.
	afterMove func()
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	afterMove := c.afterMove
	c.mu.Unlock()
	if afterMove != nil {
		afterMove()
	}
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// program is the whole program in a process of its own: the test binary,
// which runs main when childEnv is set (see TestMain). A test signals it,
// kills it and reads its exit code and stderr as an operator would, and
// sends it requests through its client.
type program struct {
	client // to the program, once it serves
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan struct{} // closed when the process has ended
	state  *os.ProcessState
}

// cheapPasswords, given to startProgram, lowers the program's password cost
// to the test server's, for tests that sign up and log in a lot.
var cheapPasswords = childIterationsEnv + "=" + strconv.Itoa(testPasswordIterations)

// startProgram starts the program with args in the directory dir, and
// returns once it answers GET /healthz. env holds extra "NAME=value"
// variables; the test's own TOKENAPI_* variables are not passed on. The
// process is killed when the test ends, if it still runs.
func startProgram(t *testing.T, dir string, args []string, env ...string) *program {
	t.Helper()
	p := spawnProgram(t, dir, args, env...)
	p.waitServing(t)
	return p
}

// spawnProgram is startProgram without the wait, for a start that is meant
// to fail.
func spawnProgram(t *testing.T, dir string, args []string, env ...string) *program {
	t.Helper()
	self, err := os.Executable() // os.Args[0] may be relative to another directory
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TOKENAPI_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, childEnv+"=1")
	cmd.Env = append(cmd.Env, rqliteKeyEnv(args)...)
	cmd.Env = append(cmd.Env, env...)
	p := &program{client: client{http: programHTTPClient(dir, args)}, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start tokenapi: %v", err)
	}
	go func() {
		cmd.Wait()
		p.state = cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		if p.running() {
			cmd.Process.Kill()
			<-p.exited
		}
		p.http.CloseIdleConnections()
		// The program is the test binary, built with -race when the test
		// is: a race in the server shows up only here.
		if strings.Contains(p.stderr.String(), "WARNING: DATA RACE") {
			t.Errorf("tokenapi %v reported a data race:\n%s", args, p.stderr)
		} else if t.Failed() {
			t.Logf("tokenapi %v stderr (last lines):\n%s", args, lastLines(p.stderr.String(), 40))
		}
	})
	return p
}

// programHTTPClient is the HTTP client of a program started with args in
// dir. The certificates of the tests sign themselves, so it trusts the one
// the program serves, from -tls-cert, if it can read that file.
func programHTTPClient(dir string, args []string) *http.Client {
	transport := &http.Transport{MaxIdleConnsPerHost: 16}
	if i := slices.Index(args, "-tls-cert"); i >= 0 && i+1 < len(args) {
		certFile := args[i+1]
		if !filepath.IsAbs(certFile) {
			certFile = filepath.Join(dir, certFile)
		}
		if cert, err := os.ReadFile(certFile); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(cert)
			transport.TLSClientConfig = &tls.Config{RootCAs: pool}
		}
	}
	return &http.Client{Transport: transport, Timeout: time.Minute}
}

// listeningLine is the log line that gives the address the program serves
// on, in the text log or the JSON log.
var listeningLine = regexp.MustCompile(`msg=listening url=(\S+)|"msg":"listening","url":"([^"]+)"`)

// waitServing waits until the program logs its address and answers
// /healthz with 200.
func (p *program) waitServing(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("tokenapi exited with %v before serving:\n%s", p.state, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("tokenapi did not serve /healthz within 30s:\n%s", p.stderr)
		}
		if p.base == "" {
			if m := listeningLine.FindStringSubmatch(p.stderr.String()); m != nil {
				p.base = m[1] + m[2]
			}
		}
		if p.base != "" {
			if res, err := p.do("GET", "/healthz", ""); err == nil && res.status == http.StatusOK {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// addr is the host and port the program serves on.
func (p *program) addr() string {
	u, err := url.Parse(p.base)
	if err != nil {
		panic(err) // the program logged it
	}
	return u.Host
}

// stop ends the program as an operator or a service manager would, with
// SIGTERM, and fails the test unless it exits 0 within 30 s.
func (p *program) stop(t *testing.T) {
	t.Helper()
	p.http.CloseIdleConnections()
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
}

// kill ends the program with SIGKILL, as a crash or an OOM kill would, and
// waits until it is gone.
func (p *program) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 tokenapi: %v", err)
	}
	<-p.exited
}

// signal sends sig to the program.
func (p *program) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to tokenapi: %v", sig, err)
	}
}

// wait waits for the program to end and returns its exit code. A program
// that is still running after timeout is killed and fails the test.
func (p *program) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		p.cmd.Process.Kill()
		<-p.exited
		t.Fatalf("tokenapi still running after %v; killed it. stderr:\n%s", timeout, lastLines(p.stderr.String(), 40))
	}
	return p.state.ExitCode()
}

// running reports whether the program has not ended yet.
func (p *program) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

// openReadOnly opens the database file of a program that is no longer
// running, read-only, so that the test neither recovers nor checkpoints
// its WAL for the next start.
func openReadOnly(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// checkIntegrity checks that SQLite finds the database file of a program
// that is no longer running sound.
func checkIntegrity(t *testing.T, path string) {
	t.Helper()
	db := openReadOnly(t, path)
	var check string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Errorf("PRAGMA integrity_check = %q (%v), want ok", check, err)
	}
	rows, err := db.Query("PRAGMA foreign_key_check")
	if err != nil {
		t.Fatalf("PRAGMA foreign_key_check: %v", err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Errorf("PRAGMA foreign_key_check finds rows that point nowhere")
	}
	if err := rows.Err(); err != nil {
		t.Errorf("PRAGMA foreign_key_check: %v", err)
	}
}

// client is how a test talks to a server, a test server or a program.
type client struct {
	base string // the server's URL: scheme, host and port
	http *http.Client
}

// response is what a test looks at of an HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// object decodes the body as a JSON object.
func (r response) object(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

// do sends method path and reads the whole answer. A non-empty body goes
// as application/json; each of with then changes the request, as
// bearer(token) adds a token. The error is the transport's: no answer, or
// only part of one. Tests that stop a server under its clients use do and
// expect such errors; the others use call and its kin, which fail the test
// on one.
func (c *client) do(method, path, body string, with ...func(*http.Request)) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, f := range with {
		f(req)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: data}, err
}

// callWith is do for a test that wants an answer: it fails the test when
// none comes.
func (c *client) callWith(t testing.TB, method, path, body string, with ...func(*http.Request)) response {
	t.Helper()
	res, err := c.do(method, path, body, with...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return res
}

// call sends a request with a bearer token (none when token is "") and a
// JSON body (none when body is "").
func (c *client) call(t testing.TB, method, path, token, body string) response {
	t.Helper()
	return c.callWith(t, method, path, body, bearer(token))
}

// callBasic sends a request with a username and password.
func (c *client) callBasic(t testing.TB, method, path, username, password string) response {
	t.Helper()
	return c.callWith(t, method, path, "", basic(username, password))
}

// bearer adds a bearer token to a request, or nothing when token is "".
func bearer(token string) func(*http.Request) {
	return func(r *http.Request) {
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
	}
}

// basic adds a username and password to a request.
func basic(username, password string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(username, password) }
}

// withHeader sends the header name with each of values, verbatim, or not
// at all when there are none.
func withHeader(name string, values ...string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Del(name)
		for _, v := range values {
			r.Header.Add(name, v)
		}
	}
}

// createUser registers a user with a derived email and returns its id.
func (c *client) createUser(t testing.TB, username, password string) int64 {
	t.Helper()
	body := fmt.Sprintf(`{"username": %q, "email": %q, "password": %q}`, username, username+"@example.com", password)
	res := c.call(t, "POST", "/api/users", "", body)
	if res.status != http.StatusCreated {
		t.Fatalf("POST /api/users = %d %s, want 201", res.status, res.body)
	}
	return int64(res.object(t)["id"].(float64))
}

// login gets a new token for a user.
func (c *client) login(t testing.TB, username, password string) string {
	t.Helper()
	res := c.callBasic(t, "POST", "/api/tokens", username, password)
	if res.status != http.StatusOK {
		t.Fatalf("POST /api/tokens as %s = %d %s, want 200", username, res.status, res.body)
	}
	return res.object(t)["token"].(string)
}

// newUser registers a user and logs it in, returning its id and a token.
func (c *client) newUser(t testing.TB, username string) (int64, string) {
	t.Helper()
	id := c.createUser(t, username, username+"-password")
	return id, c.login(t, username, username+"-password")
}

// createPost makes a post as the token's owner and returns its id.
func (c *client) createPost(t testing.TB, token, title, body string) int64 {
	t.Helper()
	res := c.call(t, "POST", "/api/posts", token, fmt.Sprintf(`{"title": %q, "body": %q}`, title, body))
	if res.status != http.StatusCreated {
		t.Fatalf("POST /api/posts = %d %s, want 201", res.status, res.body)
	}
	return int64(res.object(t)["id"].(float64))
}

// listAll gets every page of a collection and returns its items.
func (c *client) listAll(t *testing.T, path, token string) []json.RawMessage {
	t.Helper()
	var items []json.RawMessage
	for page := 1; ; page++ {
		p := fmt.Sprintf("%s?page=%d&per_page=100", path, page)
		res := c.call(t, "GET", p, token, "")
		wantStatus(t, "GET "+p, res, http.StatusOK)
		var got struct {
			Items []json.RawMessage
			Meta  struct {
				TotalPages int `json:"total_pages"`
			} `json:"_meta"`
		}
		if err := json.Unmarshal(res.body, &got); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		items = append(items, got.Items...)
		if page >= got.Meta.TotalPages {
			return items
		}
	}
}

// wantStatus fails the test when a response has another status.
func wantStatus(t testing.TB, what string, res response, want int) {
	t.Helper()
	if res.status != want {
		t.Fatalf("%s = %d %s, want %d", what, res.status, res.body, want)
	}
}

// wantError checks a response is the JSON error for status, and that its
// message, if want is not empty, contains want.
func wantError(t testing.TB, what string, res response, status int, message string) {
	t.Helper()
	wantStatus(t, what, res, status)
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type = %q, want application/json", what, ct)
	}
	m := res.object(t)
	if m["error"] != http.StatusText(status) {
		t.Errorf("%s: error = %v, want %q", what, m["error"], http.StatusText(status))
	}
	if message != "" {
		if got, _ := m["message"].(string); !strings.Contains(got, message) {
			t.Errorf("%s: message = %q, want it to contain %q", what, got, message)
		}
	}
}

// jsonText is v as canonical JSON (object keys sorted), for comparing
// decoded bodies with what a test wants and printing both readably.
func jsonText(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	return string(b)
}

// wantJSON fails unless got and want are the same JSON.
func wantJSON(t testing.TB, what string, got, want any) {
	t.Helper()
	if g, w := jsonText(t, got), jsonText(t, want); g != w {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}

// wantTimestamp checks that a JSON field is an RFC 3339 UTC time ending in
// "Z" at the instant want.
func wantTimestamp(t testing.TB, what string, got any, want time.Time) {
	t.Helper()
	s, ok := got.(string)
	if !ok {
		t.Errorf("%s = %v (%T), want an RFC 3339 string", what, got, got)
		return
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	switch {
	case err != nil:
		t.Errorf("%s = %q, not RFC 3339: %v", what, s, err)
	case !strings.HasSuffix(s, "Z"):
		t.Errorf("%s = %q, want UTC with a Z", what, s)
	case !parsed.Equal(want):
		t.Errorf("%s = %q, want %s", what, s, want.UTC().Format(time.RFC3339Nano))
	}
}

// bodyCase is a request body a write endpoint must refuse, and how.
type bodyCase struct {
	name        string
	contentType string // "" sends application/json, "-" no Content-Type
	body        string
	status      int
	message     string
}

// send sends the case's body with its Content-Type, and a bearer token when
// token is not "".
func (bc bodyCase) send(t testing.TB, ts *testServer, method, path, token string) response {
	t.Helper()
	return bc.sendWith(t, ts, method, path, bearer(token))
}

// sendWith sends the case's body with its Content-Type and auth.
func (bc bodyCase) sendWith(t testing.TB, ts *testServer, method, path string, auth func(*http.Request)) response {
	t.Helper()
	contentType := withHeader("Content-Type", "application/json")
	switch bc.contentType {
	case "":
	case "-":
		contentType = withHeader("Content-Type")
	default:
		contentType = withHeader("Content-Type", bc.contentType)
	}
	return ts.callWith(t, method, path, bc.body, contentType, auth)
}

// routePattern finds the patterns of routes() in routes.go.
var routePattern = regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]+)"`)

// routePatterns returns the patterns of routes(), read from routes.go, for
// tests that must try every route.
func routePatterns(t testing.TB) []string {
	t.Helper()
	source, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, m := range routePattern.FindAllSubmatch(source, -1) {
		patterns = append(patterns, string(m[1]))
	}
	return patterns
}

// queryPlan is the detail column of EXPLAIN QUERY PLAN for query.
func queryPlan(t *testing.T, ts *testServer, query string, args []any) []string {
	t.Helper()
	rows, err := ts.db.read.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
