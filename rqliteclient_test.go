package main

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The rqlite client against fake nodes: httptest servers that answer as
// rqlite's /db/execute and /db/query do (or as a node must not), and count
// what they were sent. They run in every go test, with no cluster.

// fakeRqliteNode is one fake node.
type fakeRqliteNode struct {
	*httptest.Server
	requests atomic.Int64
}

// newFakeRqliteNode starts a node that counts each request and then
// answers it with answer.
func newFakeRqliteNode(t *testing.T, answer http.HandlerFunc) *fakeRqliteNode {
	t.Helper()
	n := &fakeRqliteNode{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.requests.Add(1)
		answer(w, r)
	}))
	t.Cleanup(n.Close)
	return n
}

// addr is the node's host:port, as an rqlite URL names it.
func (n *fakeRqliteNode) addr() string { return n.Listener.Addr().String() }

// fakeRqliteURL is the -db URL of nodes, in that order.
func fakeRqliteURL(nodes ...*fakeRqliteNode) string {
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr()
	}
	return rqliteScheme + strings.Join(addrs, ",")
}

// fakeRqliteClient is a client of nodes, as the driver makes one.
func fakeRqliteClient(t *testing.T, nodes ...*fakeRqliteNode) *rqliteClient {
	t.Helper()
	addrs, err := parseRqliteURL(fakeRqliteURL(nodes...))
	if err != nil {
		t.Fatal(err)
	}
	c := newRqliteClient(addrs)
	t.Cleanup(c.close)
	return c
}

// answerAsLeader answers as a leader does: to a POST of a JSON array of
// statements, a write's result on /db/execute, or one row with the number
// 7 on /db/query; anything else is refused, as rqlite would.
func answerAsLeader(w http.ResponseWriter, r *http.Request) {
	var stmts []json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&stmts); err != nil || r.Method != http.MethodPost || len(stmts) == 0 {
		http.Error(w, "invalid request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/db/query":
		io.WriteString(w, `{"results":[{"columns":["n"],"types":["integer"],"values":[[7]]}]}`)
	case "/db/execute":
		io.WriteString(w, `{"results":[`+strings.Repeat(`{"last_insert_id":1,"rows_affected":1},`, len(stmts)-1)+`{"last_insert_id":1,"rows_affected":1}]}`)
	default:
		http.NotFound(w, r)
	}
}

// answerText answers with status and text, as rqlite's http.Error does.
func answerText(status int, text string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Error(w, text, status)
	}
}

// testRqliteContext bounds a test's request generously: no test waits it
// out unless it fails.
func testRqliteContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var (
	testWrite = []rqliteStatement{rqliteStatement(`["INSERT INTO t (n) VALUES (?)",7]`)}
	testQuery = rqliteStatement(`["SELECT n FROM t"]`)
)

// queryNumber runs testQuery and returns the number it answered.
func queryNumber(ctx context.Context, c *rqliteClient) (int64, error) {
	rows, err := c.query(ctx, testQuery)
	if err != nil {
		return 0, err
	}
	values := make([]driver.Value, 1)
	if err := rows.Next(values); err != nil {
		return 0, err
	}
	n, _ := values[0].(int64)
	return n, nil
}

// An answer over the cap is an error, not a truncated answer, and a read
// that got one is not sent again.
func TestRqliteRefusesOversizeAnswer(t *testing.T) {
	huge := newFakeRqliteNode(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"results":[{"columns":["s"],"types":["text"],"values":[["`))
		w.Write([]byte(strings.Repeat("x", rqliteMaxResponse)))
		w.Write([]byte(`"]]}]}`))
	})
	other := newFakeRqliteNode(t, answerAsLeader)
	c := fakeRqliteClient(t, huge, other)
	_, err := c.query(testRqliteContext(t), testQuery)
	if !errors.Is(err, errRqliteAnswerTooLarge) {
		t.Fatalf("query of an oversize answer = %v, want errRqliteAnswerTooLarge", err)
	}
	if got, want := huge.requests.Load()+other.requests.Load(), int64(1); got != want {
		t.Errorf("%d requests sent, want %d", got, want)
	}
}

// A node's error text goes into the error cut to a few hundred bytes and
// quoted, however long it was.
func TestRqliteCutsLongErrorText(t *testing.T) {
	long := "bad request " + strings.Repeat("é\n", 100_000)
	cases := []struct {
		name   string
		write  bool
		answer http.HandlerFunc
	}{
		{"400 with text", false, answerText(http.StatusBadRequest, long)},
		{"write, 200 with an error", true, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, `{"error":"`+strings.ReplaceAll(long, "\n", `\n`)+`"}`)
		}},
		{"statement error", false, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, `{"results":[{"error":"`+strings.ReplaceAll(long, "\n", `\n`)+`"}]}`)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeRqliteClient(t, newFakeRqliteNode(t, tc.answer))
			var err error
			if tc.write {
				_, err = c.execute(testRqliteContext(t), testWrite, false)
			} else {
				_, err = c.query(testRqliteContext(t), testQuery)
			}
			if err == nil {
				t.Fatal("request succeeded")
			}
			if msg := err.Error(); len(msg) > 2*rqliteMaxErrorText+200 || !strings.Contains(msg, "bad request") || !strings.Contains(msg, "bytes more") {
				t.Errorf("error = %.1000q (%d bytes); want the start of the text, cut", msg, len(msg))
			}
		})
	}
}

// redirectTo answers as a follower asked to redirect: 301 to the same
// path and query on leader.
func redirectTo(leader string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		http.Redirect(w, r, "http://"+leader+r.URL.RequestURI(), http.StatusMovedPermanently)
	}
}

// A follower's redirect to another node of the URL is followed, and that
// node is asked first from then on. A redirect to a host the URL does not
// name is not: the next node of the URL is asked instead, and the
// stranger gets nothing. Either way the follower is asked once and the
// leader answers the write and the read.
func TestRqliteRedirects(t *testing.T) {
	for _, toStranger := range []bool{false, true} {
		stranger := newFakeRqliteNode(t, answerAsLeader)
		leader := newFakeRqliteNode(t, answerAsLeader)
		target := leader
		if toStranger {
			target = stranger
		}
		follower := newFakeRqliteNode(t, redirectTo(target.addr()))
		c := fakeRqliteClient(t, follower, leader)
		ctx := testRqliteContext(t)
		if _, err := c.execute(ctx, testWrite, false); err != nil {
			t.Fatalf("redirect to stranger %v: write: %v", toStranger, err)
		}
		if n, err := queryNumber(ctx, c); err != nil || n != 7 {
			t.Fatalf("redirect to stranger %v: read = %d, %v; want 7", toStranger, n, err)
		}
		got := [3]int64{follower.requests.Load(), leader.requests.Load(), stranger.requests.Load()}
		if want := [3]int64{1, 2, 0}; got != want {
			t.Errorf("redirect to stranger %v: requests to follower, leader, stranger = %v, want %v", toStranger, got, want)
		}
	}
}

// hangUpAfterBody reads the whole request and then drops the connection
// without a word: the node got the request, and its answer is lost.
func hangUpAfterBody(t *testing.T) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		conn.Close()
	}
}

// A write whose connection broke after it was sent may have been applied:
// it is not sent again, to that node or any other, and the store says
// errStoreUnavailable, which the API answers with 503 and Retry-After.
func TestRqliteWriteNotResentWhenAnswerIsLost(t *testing.T) {
	lost := newFakeRqliteNode(t, hangUpAfterBody(t))
	other := newFakeRqliteNode(t, answerAsLeader)
	c := fakeRqliteClient(t, lost, other)
	_, err := c.execute(testRqliteContext(t), testWrite, false)
	if !errors.Is(err, errStoreUnavailable) {
		t.Fatalf("write = %v, want errStoreUnavailable", err)
	}
	if got := lost.requests.Load(); got != 1 {
		t.Errorf("the node got the write %d times, want 1", got)
	}
	if got := other.requests.Load(); got != 0 {
		t.Errorf("the other node got the write %d times, want 0", got)
	}

	// The same through the API: a sign-up is one write.
	lost.requests.Store(0)
	api := newTestServerOnRqlite(t, fakeRqliteURL(lost, other))
	res := api.callWith(t, "POST", "/api/users", `{"username":"ann","email":"ann@example.com","password":"correct horse"}`)
	wantError(t, "POST /api/users with the answer lost", res, http.StatusServiceUnavailable,
		"the database is unavailable for a moment; try again shortly (a write may or may not have been applied)")
	if got := res.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := lost.requests.Load() + other.requests.Load(); got != 1 {
		t.Errorf("the nodes got the sign-up %d times, want 1", got)
	}
}

// newTestServerOnRqlite is the handler stack on the rqlite nodes that url
// names, as they are: no migration, so that a fake node sees only what the
// requests of the test send.
func newTestServerOnRqlite(t *testing.T, url string) client {
	t.Helper()
	db, err := sql.Open("rqlite", url)
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.passwordIterations = testPasswordIterations
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	st := newCachingStore(&sqlStore{read: db, write: db}, log, cfg.now, cfg.tokenTTL, time.Hour)
	hs := httptest.NewServer(newServer(st, log, cfg))
	t.Cleanup(func() {
		hs.Close()
		st.Close()
	})
	return client{base: hs.URL, http: hs.Client()}
}

// A read is sent again, to the next node, when a node answers that it
// cannot lead or its connection breaks.
func TestRqliteReadRetriedWhenNodeCannotLead(t *testing.T) {
	cases := []struct {
		name   string
		answer http.HandlerFunc
	}{
		{"500 leader not found", answerText(http.StatusInternalServerError, "leader not found")},
		{"503 leader not found", answerText(http.StatusServiceUnavailable, "leader not found")},
		{"200 not leader", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, `{"error":"not leader"}`)
		}},
		{"connection dropped", hangUpAfterBody(t)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			down := newFakeRqliteNode(t, tc.answer)
			leader := newFakeRqliteNode(t, answerAsLeader)
			c := fakeRqliteClient(t, down, leader)
			if n, err := queryNumber(testRqliteContext(t), c); err != nil || n != 7 {
				t.Fatalf("read = %d, %v; want 7 from the next node", n, err)
			}
			if got := down.requests.Load(); got != 1 {
				t.Errorf("the first node got %d requests, want 1", got)
			}
		})
	}
}

// Any other error fails a read at once: it is not sent to another node,
// nor again until the deadline.
func TestRqliteReadNotRetriedOnOtherErrors(t *testing.T) {
	cases := []struct {
		name   string
		answer http.HandlerFunc
	}{
		{"200 with an error", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, `{"error":"database disk image is malformed"}`)
		}},
		{"400", answerText(http.StatusBadRequest, "invalid request")},
		{"500", answerText(http.StatusInternalServerError, "something else broke")},
		{"not JSON", answerText(http.StatusOK, "<html>a proxy</html>")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			broken := newFakeRqliteNode(t, tc.answer)
			leader := newFakeRqliteNode(t, answerAsLeader)
			c := fakeRqliteClient(t, broken, leader)
			_, err := queryNumber(testRqliteContext(t), c)
			if err == nil || errors.Is(err, errStoreUnavailable) {
				t.Fatalf("read = %v; want its own error at once", err)
			}
			if got := broken.requests.Load() + leader.requests.Load(); got != 1 {
				t.Errorf("%d requests sent, want 1", got)
			}
		})
	}
}
