package rqlite

import (
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The client against fake nodes: httptest servers that answer as rqlite's
// /db/execute and /db/query do (or as a node must not), and count what
// they were sent. They need no cluster.

// fakeNode is one fake node.
type fakeNode struct {
	*httptest.Server
	requests atomic.Int64
}

// newFakeNode starts a node that counts each request and then
// answers it with answer.
func newFakeNode(t testing.TB, answer http.HandlerFunc) *fakeNode {
	t.Helper()
	n := &fakeNode{}
	n.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.requests.Add(1)
		answer(w, r)
	}))
	t.Cleanup(n.Close)
	return n
}

// addr is the node's host:port, as an rqlite URL names it.
func (n *fakeNode) addr() string { return n.Listener.Addr().String() }

// fakeURL is the URL of nodes, in that order.
func fakeURL(nodes ...*fakeNode) string {
	addrs := make([]string, len(nodes))
	for i, n := range nodes {
		addrs[i] = n.addr()
	}
	return scheme + strings.Join(addrs, ",")
}

// fakeClient is a client of nodes, as the driver makes one.
func fakeClient(t testing.TB, nodes ...*fakeNode) *client {
	t.Helper()
	addrs, err := parseURL(fakeURL(nodes...))
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(addrs)
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

// testContext bounds a test's request generously: no test waits it
// out unless it fails.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var (
	testWrite = []statement{statement(`["INSERT INTO t (n) VALUES (?)",7]`)}
	testQuery = statement(`["SELECT n FROM t"]`)
)

// queryNumber runs testQuery and returns the number it answered.
func queryNumber(ctx context.Context, c *client) (int64, error) {
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
func TestRefusesOversizeAnswer(t *testing.T) {
	huge := newFakeNode(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"results":[{"columns":["s"],"types":["text"],"values":[["`))
		w.Write([]byte(strings.Repeat("x", maxResponse)))
		w.Write([]byte(`"]]}]}`))
	})
	other := newFakeNode(t, answerAsLeader)
	c := fakeClient(t, huge, other)
	_, err := c.query(testContext(t), testQuery)
	if !errors.Is(err, errAnswerTooLarge) {
		t.Fatalf("query of an oversize answer = %v, want errAnswerTooLarge", err)
	}
	if got, want := huge.requests.Load()+other.requests.Load(), int64(1); got != want {
		t.Errorf("%d requests sent, want %d", got, want)
	}
}

// A node's error text goes into the error cut to a few hundred bytes and
// quoted, however long it was.
func TestCutsLongErrorText(t *testing.T) {
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
			c := fakeClient(t, newFakeNode(t, tc.answer))
			var err error
			if tc.write {
				_, err = c.execute(testContext(t), testWrite, false)
			} else {
				_, err = c.query(testContext(t), testQuery)
			}
			if err == nil {
				t.Fatal("request succeeded")
			}
			if msg := err.Error(); len(msg) > 2*maxErrorText+200 || !strings.Contains(msg, "bad request") || !strings.Contains(msg, "bytes more") {
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
func TestRedirects(t *testing.T) {
	for _, toStranger := range []bool{false, true} {
		stranger := newFakeNode(t, answerAsLeader)
		leader := newFakeNode(t, answerAsLeader)
		target := leader
		if toStranger {
			target = stranger
		}
		follower := newFakeNode(t, redirectTo(target.addr()))
		c := fakeClient(t, follower, leader)
		ctx := testContext(t)
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
// it is not sent again, to that node or any other, and the client says
// ErrUnavailable (tokenapi's own test, TestRqliteLostWriteIs503, checks
// the 503 and Retry-After that its API answers it with).
func TestWriteNotResentWhenAnswerIsLost(t *testing.T) {
	lost := newFakeNode(t, hangUpAfterBody(t))
	other := newFakeNode(t, answerAsLeader)
	c := fakeClient(t, lost, other)
	_, err := c.execute(testContext(t), testWrite, false)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("write = %v, want ErrUnavailable", err)
	}
	if got := lost.requests.Load(); got != 1 {
		t.Errorf("the node got the write %d times, want 1", got)
	}
	if got := other.requests.Load(); got != 0 {
		t.Errorf("the other node got the write %d times, want 0", got)
	}
}

// A read is sent again, to the next node, when a node answers that it
// cannot lead or its connection breaks.
func TestReadRetriedWhenNodeCannotLead(t *testing.T) {
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
			down := newFakeNode(t, tc.answer)
			leader := newFakeNode(t, answerAsLeader)
			c := fakeClient(t, down, leader)
			if n, err := queryNumber(testContext(t), c); err != nil || n != 7 {
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
func TestReadNotRetriedOnOtherErrors(t *testing.T) {
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
			broken := newFakeNode(t, tc.answer)
			leader := newFakeNode(t, answerAsLeader)
			c := fakeClient(t, broken, leader)
			_, err := queryNumber(testContext(t), c)
			if err == nil || errors.Is(err, ErrUnavailable) {
				t.Fatalf("read = %v; want its own error at once", err)
			}
			if got := broken.requests.Load() + leader.requests.Load(); got != 1 {
				t.Errorf("%d requests sent, want 1", got)
			}
		})
	}
}
