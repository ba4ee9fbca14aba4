package main

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

// TestSIGTERMUnderLoad sends SIGTERM to the server process while clients
// log in, write posts and list them. Requests the server was handling
// finish with their normal status; once shutdown has begun, new connections
// are refused; the process exits 0 with its WAL checkpointed into a sound
// file that holds exactly the acknowledged writes: a write whose request
// got no answer must not have happened.
func TestSIGTERMUnderLoad(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "term.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath}
	// A sixth of the real password cost keeps logins slow enough to be in
	// flight at the signal, and the test short on a busy machine under -race,
	// where the real cost takes seconds. One request is held in flight for
	// sure (see startHeldPost).
	slowHash := childIterationsEnv + "=100000"
	c := startChild(t, dir, args, slowHash)
	base := c.waitServing(t)
	a := newAPI(base)

	const users = 2
	ids := make([]int64, users)
	first := make([]string, users) // a token of each user
	var wg sync.WaitGroup
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("term%d", i)
			status, data, err := a.do("POST", "/api/users",
				fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": "%s-password"}`, name, name, name), nil)
			if err != nil || status != http.StatusCreated {
				t.Errorf("POST /api/users = %d %s (%v), want 201", status, data, err)
				return
			}
			ids[i] = decodeField[int64](t, data, "id")
			status, data, err = a.do("POST", "/api/tokens", "", basic(name, name+"-password"))
			if err != nil || status != http.StatusOK {
				t.Errorf("POST /api/tokens = %d %s (%v), want 200", status, data, err)
				return
			}
			first[i] = decodeField[string](t, data, "token")
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	// A request that the server is handling for sure when the signal comes:
	// its handler has asked for the body, which the test holds back until
	// shutdown has begun.
	const heldTitle = "held across the shutdown"
	release, held := startHeldPost(t, base, first[0], fmt.Sprintf(`{"title": %q, "body": "in flight"}`, heldTitle))

	var (
		signalled  atomic.Bool
		stopAsking atomic.Bool
		acks       atomic.Int64
		spanned    atomic.Int64 // requests sent before the signal and answered after it
		// Each worker writes its own entry; the test reads them after wg.Wait.
		issued = make([][]string, users)            // tokens from the logins of the load
		posts  = make([]map[string]termPost, users) // by title, as acknowledged
	)
	// send sends a request of the load and checks its status; it reports
	// false when there was no answer, after which the worker stops.
	send := func(what, method, path, body string, auth func(*http.Request), want int) ([]byte, bool) {
		sentBefore := !signalled.Load()
		status, data, err := a.do(method, path, body, auth)
		if err != nil {
			if sentBefore && !signalled.Load() {
				t.Errorf("%s before the signal: %v", what, err)
			}
			return nil, false
		}
		if status != want {
			t.Errorf("%s = %d %s, want %d", what, status, data, want)
			return nil, false
		}
		if sentBefore && signalled.Load() {
			spanned.Add(1)
		}
		acks.Add(1)
		return data, true
	}
	for i := range users {
		posts[i] = map[string]termPost{}
		name := fmt.Sprintf("term%d", i)
		auth := bearer(first[i])
		wg.Add(2)
		go func() { // logs in, again and again
			defer wg.Done()
			for !stopAsking.Load() {
				data, ok := send("POST /api/tokens", "POST", "/api/tokens", "", basic(name, name+"-password"), http.StatusOK)
				if !ok {
					return
				}
				issued[i] = append(issued[i], decodeField[string](t, data, "token"))
			}
		}()
		go func() { // creates, edits, lists and deletes posts
			defer wg.Done()
			for n := 1; !stopAsking.Load(); n++ {
				title := fmt.Sprintf("%s post %d", name, n)
				body := strings.Repeat(title+" is long. ", 350)
				data, ok := send("POST /api/posts", "POST", "/api/posts", termPostJSON(title, body), auth, http.StatusCreated)
				if !ok {
					return
				}
				p := termPost{id: decodeField[int64](t, data, "id"), title: title, body: body}
				posts[i][title] = p
				edited := title + " edited"
				if _, ok := send("PUT "+postPath(p.id), "PUT", postPath(p.id), termPostJSON(edited, body), auth, http.StatusOK); !ok {
					return
				}
				delete(posts[i], title)
				p.title = edited
				posts[i][edited] = p
				if _, ok := send("GET /api/posts", "GET", "/api/posts?per_page=100", "", auth, http.StatusOK); !ok {
					return
				}
				if n%3 == 0 {
					if _, ok := send("DELETE "+postPath(p.id), "DELETE", postPath(p.id), "", auth, http.StatusNoContent); !ok {
						return
					}
					delete(posts[i], edited)
				}
			}
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for acks.Load() < 20 && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(5 * time.Millisecond)
	}

	termAt := time.Now()
	signalled.Store(true)
	c.signal(t, syscall.SIGTERM)
	for !strings.Contains(c.stderr.String(), `msg="shutting down"`) {
		if !c.running() || time.Since(termAt) > 30*time.Second {
			t.Fatalf("no shutting down log line after SIGTERM (child running: %v)", c.running())
		}
		time.Sleep(5 * time.Millisecond)
	}
	// From the moment shutdown begins the listener closes; the held request
	// keeps the process alive meanwhile.
	addr := strings.TrimPrefix(base, "http://")
	refused := false
	for time.Since(termAt) < 30*time.Second {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		conn.Close()
		time.Sleep(5 * time.Millisecond)
	}
	if !refused {
		t.Errorf("the server still accepts connections 30s after SIGTERM")
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("a connection was accepted after one was refused")
	}
	if !c.running() {
		t.Errorf("the process exited while a request was still being handled")
	}

	release()
	if r := <-held; r.err != nil || r.status != http.StatusCreated {
		t.Errorf("POST /api/posts held across the signal = %d %s (%v), want 201", r.status, r.body, r.err)
	}
	stopAsking.Store(true)
	wg.Wait()
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	t.Logf("%d requests answered, %d of them sent before the signal and answered after it", acks.Load(), spanned.Load())
	if logs := c.stderr.String(); !strings.Contains(logs, "msg=stopped") || strings.Contains(logs, "panic") {
		t.Errorf("the log does not end with a clean stop:\n%s", lastLines(logs, 10))
	}
	if info, err := os.Stat(dbPath + "-wal"); err == nil && info.Size() > 0 {
		t.Errorf("%s-wal holds %d bytes after the process exited, want it checkpointed", dbPath, info.Size())
	}
	checkIntegrity(t, dbPath)
	if t.Failed() {
		return
	}

	// The file holds exactly what was acknowledged.
	c = startChild(t, dir, args, slowHash)
	a = newAPI(c.waitServing(t))
	for i := range users {
		for _, tok := range append(issued[i], first[i]) {
			if status, _, err := a.do("GET", userPath(ids[i]), "", bearer(tok)); err != nil || status != http.StatusOK {
				t.Errorf("GET %s with an issued token after the restart = %d (%v), want 200", userPath(ids[i]), status, err)
			}
		}
	}
	want := map[int64]termPost{}
	for i := range users {
		for _, p := range posts[i] {
			want[p.id] = p
		}
	}
	for _, item := range listAll(t, a, "/api/posts", first[1]) {
		var got struct {
			ID          int64
			Title, Body string
		}
		json.Unmarshal(item, &got)
		p, ok := want[got.ID]
		delete(want, got.ID)
		switch {
		case got.Title == heldTitle:
		case !ok:
			t.Errorf("post %d %q is in the database, but no 2xx said so", got.ID, got.Title)
		case got.Title != p.title || got.Body != p.body:
			t.Errorf("post %d = %q (body %d bytes), want %q (body %d bytes) as acknowledged",
				got.ID, got.Title, len(got.Body), p.title, len(p.body))
		}
	}
	for _, p := range want {
		t.Errorf("post %d %q was acknowledged, but is not in the database", p.id, p.title)
	}
	a.close()
	c.signal(t, syscall.SIGTERM)
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code of the second server after SIGTERM = %d, want 0", code)
	}
}

type termPost struct {
	id          int64
	title, body string
}

func termPostJSON(title, body string) string {
	return fmt.Sprintf(`{"title": %q, "body": %q}`, title, body)
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

type heldResult struct {
	status int
	body   []byte
	err    error
}

// startHeldPost sends POST /api/posts with "Expect: 100-continue" and holds
// its body back. It returns once the server has answered 100 Continue,
// which it does when the handler first reads the body: from then on the
// request is being handled. release sends the body; the answer arrives on
// the channel.
func startHeldPost(t *testing.T, base, token, body string) (release func(), answer <-chan heldResult) {
	t.Helper()
	pr, pw := io.Pipe()
	req, err := http.NewRequest("POST", base+"/api/posts", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Expect", "100-continue")
	asked := make(chan struct{})
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		Got100Continue: func() { close(asked) },
	}))
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
	done := make(chan heldResult, 1)
	go func() {
		res, err := client.Do(req)
		if err != nil {
			done <- heldResult{err: err}
			return
		}
		defer res.Body.Close()
		data, err := io.ReadAll(res.Body)
		done <- heldResult{status: res.StatusCode, body: data, err: err}
	}()
	select {
	case <-asked:
	case r := <-done:
		t.Fatalf("held POST /api/posts = %d %s (%v) before its body was sent", r.status, r.body, r.err)
	case <-time.After(30 * time.Second):
		t.Fatalf("held POST /api/posts: no 100 Continue within 30s")
	}
	t.Cleanup(func() { pw.CloseWithError(io.ErrUnexpectedEOF) })
	release = func() {
		go func() {
			io.WriteString(pw, body)
			pw.Close()
		}()
	}
	return release, done
}
