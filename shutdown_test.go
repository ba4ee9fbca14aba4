package main

// Crosses the whole program: SIGTERM under load, followed through the shutdown.

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMUnderLoad sends SIGTERM to the program while clients log in,
// write posts and list them, and follows the shutdown through, a phase at
// a time: requests the server was handling finish with their normal
// status; once shutdown has begun, new connections are refused; the
// process exits 0 with its WAL checkpointed into a sound file, which holds
// exactly the acknowledged writes: a write whose request got no answer
// must not have happened.
func TestSIGTERMUnderLoad(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "term.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath}
	// A sixth of the real password cost keeps logins slow enough to be in
	// flight at the signal, and the test short on a busy machine under -race,
	// where the real cost takes seconds. One request is held in flight for
	// sure (see startHeldPost).
	slowHash := childIterationsEnv + "=100000"
	p := startProgram(t, dir, args, slowHash)

	users := signUpAtOnce(t, p, 2)
	if t.Failed() {
		return
	}
	held := startHeldPost(t, p, users[0].token, fmt.Sprintf(`{"title": %q, "body": "in flight"}`, heldTitle))
	load := startTermLoad(t, p, users)
	load.waitForAcks(t, 20)

	signalShutdown(t, p, load)
	wantNewConnectionsRefused(t, p)
	wantHeldRequestFinished(t, p, held)
	load.stop()
	wantCleanExit(t, p, dbPath)
	t.Logf("%d requests answered, %d of them sent before the signal and answered after it", load.acks.Load(), load.spanned.Load())
	if t.Failed() {
		return
	}

	wantExactlyAcknowledged(t, startProgram(t, dir, args, slowHash), load)
}

// termUser is a user of the load, with the token of its first login.
type termUser struct {
	name  string
	id    int64
	token string
}

func (u termUser) password() string { return u.name + "-password" }

// signUpAtOnce signs up n users and logs each in, all at once: the
// password hashes are slow on purpose.
func signUpAtOnce(t *testing.T, p *program, n int) []termUser {
	users := make([]termUser, n)
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := termUser{name: fmt.Sprintf("term%d", i)}
			res, err := p.do("POST", "/api/users",
				fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": %q}`, u.name, u.name, u.password()))
			if err != nil || res.status != http.StatusCreated {
				t.Errorf("POST /api/users = %d %s (%v), want 201", res.status, res.body, err)
				return
			}
			u.id = decodeField[int64](t, res.body, "id")
			res, err = p.do("POST", "/api/tokens", "", basic(u.name, u.password()))
			if err != nil || res.status != http.StatusOK {
				t.Errorf("POST /api/tokens = %d %s (%v), want 200", res.status, res.body, err)
				return
			}
			u.token = decodeField[string](t, res.body, "token")
			users[i] = u
		}()
	}
	wg.Wait()
	return users
}

// termLoad is the clients of TestSIGTERMUnderLoad, two for each user, and
// what the server told them.
type termLoad struct {
	t     *testing.T
	c     *client
	users []termUser

	signalled  atomic.Bool
	stopAsking atomic.Bool
	acks       atomic.Int64
	spanned    atomic.Int64 // requests sent before the signal and answered after it
	wg         sync.WaitGroup
	stopOnce   sync.Once

	// Each worker writes its own entry; they are read after stop.
	issued [][]string            // tokens from the logins of the load
	posts  []map[string]termPost // by title, as acknowledged
}

type termPost struct {
	id          int64
	title, body string
}

// startTermLoad starts, for each user, a client that logs in again and
// again, and one that creates, edits, lists and deletes posts.
func startTermLoad(t *testing.T, p *program, users []termUser) *termLoad {
	l := &termLoad{t: t, c: &p.client, users: users,
		issued: make([][]string, len(users)), posts: make([]map[string]termPost, len(users))}
	for i := range users {
		l.posts[i] = map[string]termPost{}
		l.wg.Add(2)
		go l.logIn(i)
		go l.writePosts(i)
	}
	t.Cleanup(l.stop)
	return l
}

func (l *termLoad) logIn(i int) {
	defer l.wg.Done()
	u := l.users[i]
	for !l.stopAsking.Load() {
		data, ok := l.send("POST", "/api/tokens", "", http.StatusOK, basic(u.name, u.password()))
		if !ok {
			return
		}
		l.issued[i] = append(l.issued[i], decodeField[string](l.t, data, "token"))
	}
}

func (l *termLoad) writePosts(i int) {
	defer l.wg.Done()
	u := l.users[i]
	auth := bearer(u.token)
	for n := 1; !l.stopAsking.Load(); n++ {
		title := fmt.Sprintf("%s post %d", u.name, n)
		body := strings.Repeat(title+" is long. ", 350)
		data, ok := l.send("POST", "/api/posts", termPostJSON(title, body), http.StatusCreated, auth)
		if !ok {
			return
		}
		p := termPost{id: decodeField[int64](l.t, data, "id"), title: title, body: body}
		l.posts[i][title] = p
		edited := title + " edited"
		if _, ok := l.send("PUT", postPath(p.id), termPostJSON(edited, body), http.StatusOK, auth); !ok {
			return
		}
		delete(l.posts[i], title)
		p.title = edited
		l.posts[i][edited] = p
		if _, ok := l.send("GET", "/api/posts?per_page=100", "", http.StatusOK, auth); !ok {
			return
		}
		if n%3 == 0 {
			if _, ok := l.send("DELETE", postPath(p.id), "", http.StatusNoContent, auth); !ok {
				return
			}
			delete(l.posts[i], edited)
		}
	}
}

func termPostJSON(title, body string) string {
	return fmt.Sprintf(`{"title": %q, "body": %q}`, title, body)
}

// send sends a request of the load and checks its status. It reports false
// when there was no answer, after which the worker stops: before the signal
// that is an error, after it the server going away.
func (l *termLoad) send(method, path, body string, want int, with ...func(*http.Request)) ([]byte, bool) {
	sentBefore := !l.signalled.Load()
	res, err := l.c.do(method, path, body, with...)
	if err != nil {
		if sentBefore && !l.signalled.Load() {
			l.t.Errorf("%s %s before the signal: %v", method, path, err)
		}
		return nil, false
	}
	if res.status != want {
		l.t.Errorf("%s %s = %d %s, want %d", method, path, res.status, res.body, want)
		return nil, false
	}
	if sentBefore && l.signalled.Load() {
		l.spanned.Add(1)
	}
	l.acks.Add(1)
	return res.body, true
}

// waitForAcks waits until the load has had n answers, so that the signal
// comes in the thick of it.
func (l *termLoad) waitForAcks(t *testing.T, n int64) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for l.acks.Load() < n && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(5 * time.Millisecond)
	}
}

// stop tells the workers to stop and waits until they have.
func (l *termLoad) stop() {
	l.stopOnce.Do(func() {
		l.stopAsking.Store(true)
		l.wg.Wait()
	})
}

// signalShutdown sends SIGTERM under the load, and waits until the program
// logs that its shutdown has begun.
func signalShutdown(t *testing.T, p *program, load *termLoad) {
	t.Helper()
	load.signalled.Store(true)
	p.signal(t, syscall.SIGTERM)
	for start := time.Now(); !strings.Contains(p.stderr.String(), `msg="shutting down"`); time.Sleep(5 * time.Millisecond) {
		if !p.running() || time.Since(start) > 30*time.Second {
			t.Fatalf("no shutting down log line after SIGTERM (running: %v)", p.running())
		}
	}
}

// wantNewConnectionsRefused checks that once shutdown has begun the
// listener closes for good, while the held request keeps the process alive.
func wantNewConnectionsRefused(t *testing.T, p *program) {
	t.Helper()
	addr := p.addr()
	refused := false
	for start := time.Now(); time.Since(start) < 30*time.Second; time.Sleep(5 * time.Millisecond) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		conn.Close()
	}
	if !refused {
		t.Errorf("the server still accepts connections 30s after SIGTERM")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("a connection was accepted after one was refused")
	}
	if !p.running() {
		t.Errorf("the process exited while a request was still being handled")
	}
}

// heldTitle is the title of the post held across the shutdown.
const heldTitle = "held across the shutdown"

// heldPost is a request that the server is handling for sure when the
// signal comes: its handler has asked for the body, which the test holds
// back until shutdown has begun.
type heldPost struct {
	release func()            // sends the body
	answer  <-chan heldAnswer // then the answer arrives here
}

type heldAnswer struct {
	res response
	err error
}

// startHeldPost sends POST /api/posts with "Expect: 100-continue" and holds
// its body back. It returns once the server has answered 100 Continue,
// which it does when the handler first reads the body: from then on the
// request is being handled.
func startHeldPost(t *testing.T, p *program, token, body string) heldPost {
	t.Helper()
	pr, pw := io.Pipe()
	asked := make(chan struct{})
	holdBody := func(r *http.Request) {
		r.Body = pr
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Expect", "100-continue")
		*r = *r.WithContext(httptrace.WithClientTrace(r.Context(), &httptrace.ClientTrace{
			Got100Continue: func() { close(asked) },
		}))
	}
	patient := client{base: p.base, http: &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}}
	answer := make(chan heldAnswer, 1)
	go func() {
		res, err := patient.do("POST", "/api/posts", "", bearer(token), holdBody)
		answer <- heldAnswer{res, err}
	}()
	select {
	case <-asked:
	case a := <-answer:
		t.Fatalf("held POST /api/posts = %d %s (%v) before its body was sent", a.res.status, a.res.body, a.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("held POST /api/posts: no 100 Continue within 30s")
	}
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	release := func() {
		go func() {
			io.WriteString(pw, body)
			pw.Close()
		}()
	}
	return heldPost{release: release, answer: answer}
}

// wantHeldRequestFinished sends the body of the held request, which was in
// flight all through the shutdown so far, and checks it is served as
// usual.
func wantHeldRequestFinished(t *testing.T, p *program, held heldPost) {
	t.Helper()
	held.release()
	if a := <-held.answer; a.err != nil || a.res.status != http.StatusCreated {
		t.Errorf("POST /api/posts held across the signal = %d %s (%v), want 201", a.res.status, a.res.body, a.err)
	}
}

// wantCleanExit checks that the program exits 0 once its last request is
// done, says so in its log, and leaves a sound file with its WAL
// checkpointed.
func wantCleanExit(t *testing.T, p *program, dbPath string) {
	t.Helper()
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	if logs := p.stderr.String(); !strings.Contains(logs, "msg=stopped") || strings.Contains(logs, "panic") {
		t.Errorf("the log does not end with a clean stop:\n%s", lastLines(logs, 10))
	}
	if info, err := os.Stat(dbPath + "-wal"); err == nil && info.Size() > 0 {
		t.Errorf("%s-wal holds %d bytes after the process exited, want it checkpointed", dbPath, info.Size())
	}
	checkIntegrity(t, dbPath)
}

// wantExactlyAcknowledged checks the program, started again on the file,
// against what the load was told: every token issued works, and the posts
// are exactly those acknowledged, with their acknowledged content, and the
// held one.
func wantExactlyAcknowledged(t *testing.T, p *program, load *termLoad) {
	t.Helper()
	for i, u := range load.users {
		for _, tok := range append(load.issued[i], u.token) {
			if res, err := p.do("GET", userPath(u.id), "", bearer(tok)); err != nil || res.status != http.StatusOK {
				t.Errorf("GET %s with an issued token after the restart = %d (%v), want 200", userPath(u.id), res.status, err)
			}
		}
	}
	want := map[int64]termPost{}
	for i := range load.users {
		for _, post := range load.posts[i] {
			want[post.id] = post
		}
	}
	for _, item := range p.listAll(t, "/api/posts", load.users[1].token) {
		var got struct {
			ID          int64
			Title, Body string
		}
		json.Unmarshal(item, &got)
		post, ok := want[got.ID]
		delete(want, got.ID)
		switch {
		case got.Title == heldTitle:
		case !ok:
			t.Errorf("post %d %q is in the database, but no 2xx said so", got.ID, got.Title)
		case got.Title != post.title || got.Body != post.body:
			t.Errorf("post %d = %q (body %d bytes), want %q (body %d bytes) as acknowledged",
				got.ID, got.Title, len(got.Body), post.title, len(post.body))
		}
	}
	for _, post := range want {
		t.Errorf("post %d %q was acknowledged, but is not in the database", post.id, post.title)
	}
	p.stop(t)
}

// decodeField returns one field of a JSON object.
func decodeField[T any](t *testing.T, data []byte, name string) T {
	t.Helper()
	var m map[string]json.RawMessage
	var v T
	if err := json.Unmarshal(data, &m); err != nil {
		t.Errorf("answer %q: %v", data, err)
		return v
	}
	if err := json.Unmarshal(m[name], &v); err != nil {
		t.Errorf("answer %q: %s: %v", data, name, err)
	}
	return v
}
