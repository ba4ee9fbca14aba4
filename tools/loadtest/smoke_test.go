package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
)

// The smoke tests run the whole tool, as main does, against a stand-in
// for the API: a few dozen lines that answer like tokenapi (or like the
// Flask tutorial) without password hashing or a database, so a run takes a
// second. The real server is CI's job: go -C tools/loadtest run . -binary
// <tokenapi>, from the repository root.

// standInEnv makes the test binary serve the stand-in on its -addr flag,
// so that -binary can start it as a server process.
const standInEnv = "BENCH_TEST_STAND_IN"

func TestMain(m *testing.M) {
	// The tool re-executes its own binary for the baseline; in tests that
	// binary is this one.
	if len(os.Args) > 1 && os.Args[1] == bareCommand {
		if err := bareMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(standInEnv) != "" {
		serveStandIn()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveStandIn is the stand-in as a process: tokenapi's -addr and -db
// flags, stopped by SIGTERM.
func serveStandIn() {
	fs := flag.NewFlagSet("stand-in", flag.ExitOnError)
	addr := fs.String("addr", "", "")
	fs.String("db", "", "")
	fs.Parse(os.Args[1:])
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: newStandIn(standInOptions{})}
	go srv.Serve(ln)
	<-ctx.Done()
	srv.Close()
}

type standInOptions struct {
	flask       bool // posts only on /api/posts/user/{id}, and Connection: close
	failEvery   int  // answer 500 to every n-th GET /api/users/{id}
	badSignUp   bool // refuse every sign-up
	postsCalled *atomic.Int64
}

// standIn is the API's happy paths over maps.
type standIn struct {
	opts   standInOptions
	mu     sync.Mutex
	users  map[string]string // username → password
	ids    map[string]int    // username → id
	tokens map[string]int    // token → user id
	gets   atomic.Int64
	posts  atomic.Int64
}

func newStandIn(opts standInOptions) http.Handler {
	s := &standIn{opts: opts, users: map[string]string{}, ids: map[string]int{}, tokens: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSONTest(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("POST /api/users", s.signUp)
	mux.HandleFunc("POST /api/tokens", s.login)
	mux.HandleFunc("GET /api/users/{id}", s.auth(s.getUser))
	mux.HandleFunc("GET /api/users", s.auth(s.list))
	mux.HandleFunc("GET /api/posts", s.auth(s.list))
	mux.HandleFunc("POST /api/posts/user/{id}", s.createPost)
	if !opts.flask {
		mux.HandleFunc("POST /api/posts", s.auth(s.createPost))
	}
	if !opts.flask {
		return mux
	}
	// The Flask development server answers every request with
	// Connection: close.
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close")
		mux.ServeHTTP(w, r)
	})
}

func writeJSONTest(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *standIn) signUp(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Email, Password string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Username == "" || in.Password == "" || s.opts.badSignUp {
		writeJSONTest(w, 400, map[string]string{"error": "Bad Request"})
		return
	}
	s.mu.Lock()
	id := len(s.users) + 1
	s.users[in.Username], s.ids[in.Username] = in.Password, id
	s.mu.Unlock()
	writeJSONTest(w, 201, map[string]any{"id": id, "username": in.Username})
}

func (s *standIn) login(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !ok || s.users[user] != pass {
		writeJSONTest(w, 401, map[string]string{"error": "Unauthorized"})
		return
	}
	token := fmt.Sprintf("token-%d-%d", s.ids[user], len(s.tokens))
	s.tokens[token] = s.ids[user]
	writeJSONTest(w, 200, map[string]string{"token": token})
}

func (s *standIn) auth(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		s.mu.Lock()
		_, ok := s.tokens[token]
		s.mu.Unlock()
		if !ok {
			writeJSONTest(w, 401, map[string]string{"error": "Unauthorized"})
			return
		}
		next(w, r)
	}
}

func (s *standIn) getUser(w http.ResponseWriter, r *http.Request) {
	if n := s.gets.Add(1); s.opts.failEvery > 0 && n%int64(s.opts.failEvery) == 0 {
		writeJSONTest(w, 500, map[string]string{"error": "Internal Server Error"})
		return
	}
	id, _ := strconv.Atoi(r.PathValue("id"))
	writeJSONTest(w, 200, map[string]any{"id": id, "username": "someone", "_links": map[string]string{"self": r.URL.Path}})
}

func (s *standIn) list(w http.ResponseWriter, r *http.Request) {
	writeJSONTest(w, 200, map[string]any{"items": []any{}, "_meta": map[string]int{"page": 1, "total_pages": 7}})
}

func (s *standIn) createPost(w http.ResponseWriter, r *http.Request) {
	if s.opts.postsCalled != nil {
		s.opts.postsCalled.Add(1)
	}
	writeJSONTest(w, 201, map[string]any{"id": s.posts.Add(1)})
}

// runTool runs the tool as main would, briefly, and returns its stdout.
func runTool(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"-d", "300ms", "-warmup", "100ms", "-c", "4", "-users", "2", "-posts", "3"}, args...)
	err := run(context.Background(), args, &stdout, &stderr)
	t.Logf("bench %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), stdout.String(), stderr.String())
	return stdout.String(), err
}

func TestRunEveryScenarioWithBaseline(t *testing.T) {
	srv := httptest.NewServer(newStandIn(standInOptions{}))
	defer srv.Close()
	out, err := runTool(t, "-url", srv.URL, "-mix", "get-user=2,list-users=1,list-posts=1,create-post=1,login=1")
	if err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	for _, want := range []string{"target ", "baseline ", "  login ", "  create-post ", "target/baseline req/s: ", "created on /api/posts)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// The Flask tutorial's server: posts on /api/posts/user/{id}, and a new
// connection for every request.
func TestRunFlaskShapedServer(t *testing.T) {
	var posts atomic.Int64
	srv := httptest.NewServer(newStandIn(standInOptions{flask: true, postsCalled: &posts}))
	defer srv.Close()
	out, err := runTool(t, "-url", srv.URL, "-mix", "get-user,create-post", "-baseline=false")
	if err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if !strings.Contains(out, "created on /api/posts/user/{id})") {
		t.Errorf("output does not say posts went to /api/posts/user/{id}")
	}
	if posts.Load() < 10 {
		t.Errorf("%d posts created, want the create-post scenario to have made some", posts.Load())
	}
}

func TestRunFailsOnErrorResponses(t *testing.T) {
	srv := httptest.NewServer(newStandIn(standInOptions{failEvery: 7}))
	defer srv.Close()
	out, err := runTool(t, "-url", srv.URL, "-baseline=false")
	if err == nil || !strings.Contains(err.Error(), "requests failed") {
		t.Fatalf("run = %v, want an error counting failed requests", err)
	}
	if !strings.Contains(out, "errors: 500 ×") {
		t.Errorf("output does not break errors down by status")
	}
}

func TestRunFailsWhenSetupFails(t *testing.T) {
	srv := httptest.NewServer(newStandIn(standInOptions{badSignUp: true}))
	defer srv.Close()
	_, err := runTool(t, "-url", srv.URL)
	if err == nil || !strings.Contains(err.Error(), "setup: sign up") || !strings.Contains(err.Error(), "= 400, want 201") {
		t.Fatalf("run = %v, want a setup error naming the sign-up and its status", err)
	}
}

// -binary starts a server process (here this test binary as the stand-in),
// waits for /healthz, reads its memory and stops it.
func TestRunStartsBinary(t *testing.T) {
	t.Setenv(standInEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := runTool(t, "-binary", exe, "-baseline=false")
	if err != nil {
		t.Fatalf("run = %v, want nil", err)
	}
	if !strings.Contains(out, "RSS ") || strings.Contains(out, "RSS unknown") {
		t.Errorf("output does not give the started server's RSS")
	}
}

// -page counts the pages from the first page's _meta.total_pages (7 in
// the stand-in) and asks for the middle or the last one.
func TestRunPage(t *testing.T) {
	srv := httptest.NewServer(newStandIn(standInOptions{}))
	defer srv.Close()
	for _, tc := range []struct{ page, want string }{
		{"middle", "list-users page 4, list-posts page 4"},
		{"last", "list-users page 7, list-posts page 7"},
	} {
		out, err := runTool(t, "-url", srv.URL, "-mix", "list-users,list-posts", "-page", tc.page, "-baseline=false")
		if err != nil {
			t.Fatalf("run -page %s = %v, want nil", tc.page, err)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("run -page %s: output lacks %q", tc.page, tc.want)
		}
	}
}

func TestBadCommandLines(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-url", "http://x", "-binary", "y"},
		{"-url", "http://x", "-mix", "nope"},
		{"-url", "http://x", "-c", "0"},
		{"-binary", "y", "-pid", "3"},
		{"-url", "http://x", "extra"},
		{"-url", "http://x", "-seed-users", "10"},
		{"-binary", "y", "-seed-posts", "10"},
		{"-binary", "y", "-seed-users", "-1"},
		{"-url", "http://x", "-page", "2"},
		{"-url", "http://x", "-db", "/tmp/x.db"},
	} {
		var stderr bytes.Buffer
		if err := run(context.Background(), args, &bytes.Buffer{}, &stderr); err != errUsage {
			t.Errorf("run(%q) = %v, want errUsage", args, err)
		}
	}
}
