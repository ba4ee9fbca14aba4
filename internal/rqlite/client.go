package rqlite

// How the rqlite driver talks to a cluster: each request goes to the node
// that led last time, follows a follower's redirect to the leader, waits
// out an election, and never sends a write twice when it cannot know
// whether the first one was applied.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"
)

// noDeadlineWait bounds a request whose context has no deadline of its
// own, waits for a leader included: an election takes one to three
// seconds.
const noDeadlineWait = 10 * time.Second

// retryPause is the pause before trying again while there is no leader,
// or after a node did not answer.
const retryPause = 100 * time.Millisecond

// maxResponse caps what is read of one answer; a larger one is an error,
// never cut short. The largest tokenapi asks for is a page of 100 posts: a
// post's body is at most 10,000 characters, which JSON writes in at most
// 60,000 bytes (a '<' becomes \u003c), so about 6 MiB.
const maxResponse = 8 << 20

// errAnswerTooLarge is an answer over maxResponse: a query the caller
// should not make, or not rqlite answering.
var errAnswerTooLarge = fmt.Errorf("rqlite: answer larger than %d bytes", maxResponse)

// The paths of the requests. Each asks a follower to answer with a
// redirect to the leader (redirect) rather than forward the request
// itself: a forwarded write that fails half-way leaves its outcome unknown
// one hop further away. Queries read at the linearizable level (see the
// package comment) and take blobs as arrays of bytes, so that a string in
// a response is always text.
const (
	executePath     = "/db/execute?redirect"
	transactionPath = "/db/execute?redirect&transaction"
	queryPath       = "/db/query?redirect&level=linearizable&blob_array"
)

// client is shared by every connection of one sql.DB.
type client struct {
	nodes  []string // host:port, as the URL names them
	http   *http.Client
	leader atomic.Pointer[string] // the node that answered last
}

func newClient(nodes []string) *client {
	transport := &http.Transport{
		// A node that is down refuses at once on a LAN; one that is
		// unreachable should not hold a request for long either.
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        256,
		MaxIdleConnsPerHost: 128,
		IdleConnTimeout:     90 * time.Second,
	}
	c := &client{
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

func (c *client) close() { c.http.CloseIdleConnections() }

// execute runs stmts, as one atomic request when transaction is set, and
// returns a result per statement. A statement's SQL error is returned with
// SQLite's own text ("UNIQUE constraint failed: users.username"), as
// go-sqlite3 gives it; in a transaction it undid every statement.
func (c *client) execute(ctx context.Context, stmts []statement, transaction bool) ([]result, error) {
	path := executePath
	if transaction {
		path = transactionPath
	}
	resp, err := c.do(ctx, path, stmts, true)
	if err != nil {
		return nil, err
	}
	for _, r := range resp.Results {
		if r.Error != "" {
			return nil, errors.New(sqlErrorText(r.Error))
		}
	}
	if resp.Count != len(stmts) {
		return nil, fmt.Errorf("rqlite: %d results for %d statements", resp.Count, len(stmts))
	}
	return resp.Results, nil
}

// query runs one query and returns its rows.
func (c *client) query(ctx context.Context, stmt statement) (*rows, error) {
	resp, err := c.do(ctx, queryPath, []statement{stmt}, false)
	if err != nil {
		return nil, err
	}
	if resp.Count != 1 {
		return nil, fmt.Errorf("rqlite: %d results for one query", resp.Count)
	}
	if resp.Results[0].Error != "" {
		return nil, errors.New(sqlErrorText(resp.Results[0].Error))
	}
	return newRows(resp.Results[0]), nil
}

// statementList is the request body: the statements as one JSON array.
func statementList(stmts []statement) []byte {
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

// do sends stmts to path until a leader answers, within ctx. Whatever a
// node answers without applying the request (a redirect, "not leader",
// "leader not found", or no connection at all) is tried again, on the
// leader it names when that is a node of the URL, or else on the next
// node. A write whose request went out but whose answer did not come back
// is not sent again: it may have been applied, and do says so with
// ErrUnavailable. A read is safe to send again, and is when the
// connection failed or a node said it could not lead; any other error is
// returned at once.
func (c *client) do(ctx context.Context, path string, stmts []statement, write bool) (response, error) {
	body := statementList(stmts)
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, noDeadlineWait)
		defer cancel()
	}
	node := *c.leader.Load()
	var lastErr error
	redirects := 0
	for {
		resp, leader, retry, err := c.try(ctx, node, path, body, len(stmts), write)
		switch {
		case err != nil:
			return response{}, err
		case leader != "":
			node = leader
			if redirects++; redirects <= len(c.nodes) {
				continue // the leader it names has not been asked yet
			}
			lastErr = fmt.Errorf("%s redirected too often", node)
		case retry != nil:
			lastErr = retry
		default:
			if node != *c.leader.Load() {
				c.leader.Store(&node)
			}
			return resp, nil
		}
		redirects = 0
		node = c.nextNode(node)
		select {
		case <-ctx.Done():
			return response{}, fmt.Errorf("%w: rqlite: no leader answered in time: %w (last: %v)", ErrUnavailable, ctx.Err(), lastErr)
		case <-time.After(retryPause):
		}
	}
}

// try sends the request to node once and says what came of it: the
// node's response; or the leader it redirected to, a node of the URL; or
// why another node should be asked (retry), as the node did not apply the
// request; or an error to return without asking again. body holds
// statements statements.
func (c *client) try(ctx context.Context, node, path string, body []byte, statements int, write bool) (resp response, leader string, retry, err error) {
	status, location, answer, sent, err := c.post(ctx, node, path, body)
	switch {
	case err != nil && sent && write:
		return response{}, "", nil, fmt.Errorf("%w: rqlite: a write sent to %s may or may not have been applied: %w", ErrUnavailable, node, err)
	case errors.Is(err, errAnswerTooLarge):
		return response{}, "", nil, fmt.Errorf("%s: %w", node, err)
	case err != nil:
		return response{}, "", err, nil // no connection, or it broke: another node may answer
	case status == http.StatusMovedPermanently || status == http.StatusFound ||
		status == http.StatusTemporaryRedirect || status == http.StatusPermanentRedirect:
		leader, ok := c.configuredNode(location)
		if !ok {
			// Only the URL says where statements (and whatever secrets are
			// in them) may go: a node that names another host is not
			// followed, and the next node is asked instead.
			return response{}, "", fmt.Errorf("%s redirected to %s, which is not a node of the URL", node, quoteText(location)), nil
		}
		return response{}, leader, nil, nil
	case status == http.StatusOK:
		resp, retry, err := judgeAnswer(node, answer, statements, write)
		return resp, "", retry, err
	case notApplied(string(answer)):
		// 503 "leader not found" while there is none, or 500 from a
		// follower asked to redirect that knows no leader to name.
		return response{}, "", fmt.Errorf("%s: %s", node, quoteText(string(answer))), nil
	default:
		// rqlite refuses before it applies anything when it answers
		// other than 200: a malformed request, say. Ours is a bug.
		return response{}, "", nil, fmt.Errorf("rqlite: %s answered %d: %s", node, status, quoteText(string(answer)))
	}
}

// judgeAnswer reads a 200 answer from node to statements statements: the
// response, or why another node should be asked (retry), or an error to
// return.
func judgeAnswer(node string, answer []byte, statements int, write bool) (resp response, retry, err error) {
	resp, err = decodeResponse(answer, statements)
	switch {
	case err != nil && write:
		return response{}, nil, fmt.Errorf("%w: rqlite: a write sent to %s may or may not have been applied: %w", ErrUnavailable, node, err)
	case err != nil:
		return response{}, nil, err
	case resp.Error == "":
		return resp, nil, nil
	case resp.Error == "disallowed pragma":
		return response{}, nil, fmt.Errorf("rqlite: %s", resp.Error)
	case notApplied(resp.Error):
		return response{}, fmt.Errorf("%s: %s", node, quoteText(resp.Error)), nil
	case write:
		// Raft took the write and then failed (leadership lost while
		// committing, a timeout): it may yet be applied.
		return response{}, nil, fmt.Errorf("%w: rqlite: a write to %s may or may not have been applied: %s", ErrUnavailable, node, quoteText(resp.Error))
	default:
		// A read that failed for another reason would fail again: sending
		// it until the deadline only makes its caller wait.
		return response{}, nil, fmt.Errorf("rqlite: %s: %s", node, quoteText(resp.Error))
	}
}

// configuredNode returns the node of the URL's list that a redirect's
// Location names, as the list spells it, or false when it names none.
// rqlite's Location is the leader's advertised HTTP address and the path,
// so the URL should name the nodes as they advertise themselves
// (-http-adv-addr, or -http-addr without it).
func (c *client) configuredNode(location string) (string, bool) {
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
func (c *client) nextNode(node string) string {
	for i, n := range c.nodes {
		if n == node {
			return c.nodes[(i+1)%len(c.nodes)]
		}
	}
	return c.nodes[0]
}

// post sends one request to one node. sent is false when the connection
// could not be made, so that the node never saw the request.
func (c *client) post(ctx context.Context, node, path string, body []byte) (status int, location string, answer []byte, sent bool, err error) {
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
	answer, err = readAnswer(res.Body)
	if err != nil {
		return 0, "", nil, true, err
	}
	return res.StatusCode, res.Header.Get("Location"), answer, true, nil
}
