package main

// How the rqlite driver talks to a cluster: each request goes to the node
// that led last time, follows a follower's redirect to the leader, waits
// out an election, and never sends a write twice when it cannot know
// whether the first one was applied.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// errStoreUnavailable is the store's "come back shortly": the cluster has
// no leader for now, or a write's outcome is unknown (the node went away
// after it was sent). handleError answers it with 503 and Retry-After; a
// client that retries a write it was told may have been applied decides
// for itself whether a twin is harmless.
var errStoreUnavailable = errors.New("the database is unavailable for a moment")

// rqliteNoDeadlineWait bounds a request whose context has no deadline of
// its own, waits for a leader included: an election takes one to three
// seconds.
const rqliteNoDeadlineWait = 10 * time.Second

// rqliteRetryPause is the pause before trying again while there is no
// leader, or after a node did not answer.
const rqliteRetryPause = 100 * time.Millisecond

// rqliteMaxResponse caps what is read of one answer; a larger one is an
// error, never cut short. The largest the service asks for is a page of
// 100 posts: a post's body is at most 10,000 characters, which JSON writes
// in at most 60,000 bytes (a '<' becomes \u003c), so about 6 MiB.
const rqliteMaxResponse = 8 << 20

// errRqliteAnswerTooLarge is an answer over rqliteMaxResponse: a query
// the service should not make, or not rqlite answering.
var errRqliteAnswerTooLarge = fmt.Errorf("rqlite: answer larger than %d bytes", rqliteMaxResponse)

// rqliteMaxErrorText is how much of a node's error text goes into an
// error, and so into a log: whatever answers on a node's address may send
// megabytes.
const rqliteMaxErrorText = 256

// The paths of the requests. Each asks a follower to answer with a
// redirect to the leader (redirect) rather than forward the request
// itself: a forwarded write that fails half-way leaves its outcome unknown
// one hop further away. Queries read at the linearizable level (see
// rqlitedriver.go) and take blobs as arrays of bytes, so that a string in
// a response is always text.
const (
	rqliteExecutePath     = "/db/execute?redirect"
	rqliteTransactionPath = "/db/execute?redirect&transaction"
	rqliteQueryPath       = "/db/query?redirect&level=linearizable&blob_array"
)

// rqliteClient is shared by every connection of one sql.DB.
type rqliteClient struct {
	nodes  []string // host:port, as the -db URL names them
	http   *http.Client
	leader atomic.Pointer[string] // the node that answered last
}

func newRqliteClient(nodes []string) *rqliteClient {
	transport := &http.Transport{
		// A node that is down refuses at once on a LAN; one that is
		// unreachable should not hold a request for long either.
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &rqliteClient{
		nodes: nodes,
		http: &http.Client{
			Transport: transport,
			// A redirect is followed by do, which knows it was not applied.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.leader.Store(&nodes[0])
	return c
}

func (c *rqliteClient) close() { c.http.CloseIdleConnections() }

// execute runs stmts, as one atomic request when transaction is set, and
// returns a result per statement. A statement's SQL error is returned with
// SQLite's own text ("UNIQUE constraint failed: users.username"), as
// go-sqlite3 gives it; in a transaction it undid every statement.
func (c *rqliteClient) execute(ctx context.Context, stmts []rqliteStatement, transaction bool) ([]rqliteResult, error) {
	path := rqliteExecutePath
	if transaction {
		path = rqliteTransactionPath
	}
	resp, err := c.do(ctx, path, statementList(stmts), true)
	if err != nil {
		return nil, err
	}
	for _, r := range resp.Results {
		if r.Error != "" {
			return nil, errors.New(sqlErrorText(r.Error))
		}
	}
	if len(resp.Results) != len(stmts) {
		return nil, fmt.Errorf("rqlite: %d results for %d statements", len(resp.Results), len(stmts))
	}
	return resp.Results, nil
}

// query runs one query and returns its rows.
func (c *rqliteClient) query(ctx context.Context, stmt rqliteStatement) (*rqliteRows, error) {
	resp, err := c.do(ctx, rqliteQueryPath, statementList([]rqliteStatement{stmt}), false)
	if err != nil {
		return nil, err
	}
	if len(resp.Results) != 1 {
		return nil, fmt.Errorf("rqlite: %d results for one query", len(resp.Results))
	}
	if resp.Results[0].Error != "" {
		return nil, errors.New(sqlErrorText(resp.Results[0].Error))
	}
	return &rqliteRows{result: resp.Results[0]}, nil
}

// statementList is the request body: the statements as one JSON array.
func statementList(stmts []rqliteStatement) []byte {
	n := 2
	for _, s := range stmts {
		n += len(s) + 1
	}
	b := make([]byte, 0, n)
	b = append(b, '[')
	for i, s := range stmts {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, s...)
	}
	return append(b, ']')
}

// do sends body to path until a leader answers, within ctx. Whatever a
// node answers without applying the request (a redirect, "not leader",
// "leader not found", or no connection at all) is tried again, on the
// leader it names when that is a node of the URL, or else on the next
// node. A write whose request went out but whose answer did not come back
// is not sent again: it may have been applied, and do says so with
// errStoreUnavailable. A read is safe to send again, and is when the
// connection failed or a node said it could not lead; any other error is
// returned at once.
func (c *rqliteClient) do(ctx context.Context, path string, body []byte, write bool) (rqliteResponse, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, rqliteNoDeadlineWait)
		defer cancel()
	}
	node := *c.leader.Load()
	var lastErr error
	redirects := 0
	for {
		status, location, answer, sent, err := c.post(ctx, node, path, body)
		switch {
		case err != nil && sent && write:
			return rqliteResponse{}, fmt.Errorf("%w: rqlite: a write sent to %s may or may not have been applied: %w", errStoreUnavailable, node, err)
		case errors.Is(err, errRqliteAnswerTooLarge):
			return rqliteResponse{}, fmt.Errorf("%s: %w", node, err)
		case err != nil:
			lastErr = err // no connection, or it broke: another node may answer
		case status == http.StatusMovedPermanently || status == http.StatusFound ||
			status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect:
			leader, ok := c.configuredNode(location)
			if !ok {
				// Only the -db URL says where statements (and the token
				// hashes in them) may go: a node that names another host
				// is not followed, and the next node is asked instead.
				lastErr = fmt.Errorf("%s redirected to %s, which is not a node of the -db URL", node, quoteRqliteText(location))
				break
			}
			node = leader
			if redirects++; redirects <= len(c.nodes) {
				continue // the leader it names has not been asked yet
			}
			lastErr = fmt.Errorf("%s redirected too often", node)
		case status == http.StatusOK:
			resp, derr := decodeRqliteResponse(answer)
			switch {
			case derr != nil && write:
				return rqliteResponse{}, fmt.Errorf("%w: rqlite: a write sent to %s may or may not have been applied: %w", errStoreUnavailable, node, derr)
			case derr != nil:
				return rqliteResponse{}, derr
			case resp.Error == "":
				if node != *c.leader.Load() {
					c.leader.Store(&node)
				}
				return resp, nil
			case resp.Error == "disallowed pragma":
				return rqliteResponse{}, fmt.Errorf("rqlite: %s", resp.Error)
			case rqliteNotApplied(resp.Error):
				lastErr = fmt.Errorf("%s: %s", node, quoteRqliteText(resp.Error))
			case write:
				// Raft took the write and then failed (leadership lost
				// while committing, a timeout): it may yet be applied.
				return rqliteResponse{}, fmt.Errorf("%w: rqlite: a write to %s may or may not have been applied: %s", errStoreUnavailable, node, quoteRqliteText(resp.Error))
			default:
				// A read that failed for another reason would fail again:
				// sending it until the deadline only makes its caller wait.
				return rqliteResponse{}, fmt.Errorf("rqlite: %s: %s", node, quoteRqliteText(resp.Error))
			}
		case rqliteNotApplied(string(answer)):
			// 503 "leader not found" while there is none, or 500 from a
			// follower asked to redirect that knows no leader to name.
			lastErr = fmt.Errorf("%s: %s", node, quoteRqliteText(string(answer)))
		default:
			// rqlite refuses before it applies anything when it answers
			// other than 200: a malformed request, say. Ours is a bug.
			return rqliteResponse{}, fmt.Errorf("rqlite: %s answered %d: %s", node, status, quoteRqliteText(string(answer)))
		}
		redirects = 0
		node = c.nextNode(node)
		select {
		case <-ctx.Done():
			return rqliteResponse{}, fmt.Errorf("%w: rqlite: no leader answered in time: %w (last: %v)", errStoreUnavailable, ctx.Err(), lastErr)
		case <-time.After(rqliteRetryPause):
		}
	}
}

// rqliteNotApplied reports whether rqlite's error text says that the node
// refused the request before applying any of it.
func rqliteNotApplied(msg string) bool {
	for _, s := range []string{"leader not found", "not leader", "store not ready", "store not open", "stale read"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// configuredNode returns the node of the URL's list that a redirect's
// Location names, as the list spells it, or false when it names none.
// rqlite's Location is the leader's advertised HTTP address and the path,
// so the URL should name the nodes as they advertise themselves
// (-http-adv-addr, or -http-addr without it).
func (c *rqliteClient) configuredNode(location string) (string, bool) {
	u, err := url.Parse(location)
	if err != nil || u.Host == "" {
		return "", false
	}
	for _, n := range c.nodes {
		if strings.EqualFold(n, u.Host) {
			return n, true
		}
	}
	return "", false
}

// nextNode is the node after node in the URL's list.
func (c *rqliteClient) nextNode(node string) string {
	for i, n := range c.nodes {
		if n == node {
			return c.nodes[(i+1)%len(c.nodes)]
		}
	}
	return c.nodes[0]
}

// post sends one request to one node. sent is false when the connection
// could not be made, so that the node never saw the request.
func (c *rqliteClient) post(ctx context.Context, node, path string, body []byte) (status int, location string, answer []byte, sent bool, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+node+path, bytes.NewReader(body))
	if err != nil {
		return 0, "", nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := c.http.Do(req)
	if err != nil {
		var opErr *net.OpError
		notSent := errors.As(err, &opErr) && opErr.Op == "dial"
		return 0, "", nil, !notSent, err
	}
	defer res.Body.Close()
	answer, err = io.ReadAll(io.LimitReader(res.Body, rqliteMaxResponse+1))
	if err == nil && len(answer) > rqliteMaxResponse {
		err = errRqliteAnswerTooLarge
	}
	if err != nil {
		return 0, "", nil, true, err
	}
	return res.StatusCode, res.Header.Get("Location"), answer, true, nil
}

// sqlErrorText is the text of a statement's SQL error: SQLite's own, as
// go-sqlite3 gives it (store.go matches on it), cut to
// rqliteMaxErrorText bytes.
func sqlErrorText(s string) string {
	text, more := cutRqliteText(s)
	if more > 0 {
		return fmt.Sprintf("%s... (%d bytes more)", text, more)
	}
	return text
}

// quoteRqliteText is a node's own text as an error shows it: cut, and
// quoted so that it cannot pass for a line of our own in a log.
func quoteRqliteText(s string) string {
	text, more := cutRqliteText(s)
	if more > 0 {
		return fmt.Sprintf("%q (%d bytes more)", text, more)
	}
	return strconv.Quote(text)
}

// cutRqliteText is s trimmed and cut to rqliteMaxErrorText bytes, at the
// start of a character, and the number of bytes left off.
func cutRqliteText(s string) (string, int) {
	s = strings.TrimSpace(s)
	if len(s) <= rqliteMaxErrorText {
		return s, 0
	}
	cut := rqliteMaxErrorText
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut], len(s) - cut
}
