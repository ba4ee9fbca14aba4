package main

// Crosses the whole program: kill -9 during writes, then a restart on the same file.

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	crashRounds = 4
	// crashWorkers write at once, so that writes share commits (group
	// commit, committer.go) and a kill finds several in one.
	crashWorkers = 16
	// crashAcks is how many writes a round acknowledges before the kill
	// may come, so that every round has something to lose.
	crashAcks = 320
	// crashMaxLogins keeps each user below maxTokensPerUser, so that no
	// acknowledged token is retired by the limit rather than lost.
	crashMaxLogins = 60
)

// TestKill9KeepsAcknowledgedWrites kills the server with SIGKILL at a random
// moment while several clients write users, tokens and posts (once each
// round has some writes acknowledged), then starts it again on the same
// file, several times over. Every write that got its
// 2xx must be there and work: users log in with their passwords, issued
// tokens authenticate, revoked ones get 401, posts have the content last
// acknowledged, deleted posts are gone. The one write per client that was
// in flight at the kill may or may not have landed, but nothing else may
// appear, and SQLite must find the file sound after every kill, with the
// counters its triggers keep equal to COUNT(*).
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "crash.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath}
	workers := make([]*crashWorker, crashWorkers)
	for i := range workers {
		workers[i] = &crashWorker{id: i, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	}

	total := 0
	for round := range crashRounds {
		p := startProgram(t, dir, args, cheapPasswords)
		if round > 0 {
			verifyCrashState(t, &p.client, workers)
			if t.Failed() {
				return
			}
		}
		total += writeUntilKilled(t, p, workers, round)
		if t.Failed() {
			return
		}
		checkIntegrity(t, dbPath)
		wantCountsExact(t, fmt.Sprintf("after kill %d", round+1), openReadOnly(t, dbPath))
		if t.Failed() {
			return
		}
	}

	p := startProgram(t, dir, args, cheapPasswords)
	verifyCrashState(t, &p.client, workers)
	p.stop(t)
	checkIntegrity(t, dbPath)
	wantCountsExact(t, "after the last restart", openReadOnly(t, dbPath))
	t.Logf("%d acknowledged writes over %d kills", total, crashRounds)
}

// writeUntilKilled sets the workers writing, kills the program at a random
// moment once crashAcks writes are acknowledged, and returns how many were.
func writeUntilKilled(t *testing.T, p *program, workers []*crashWorker, round int) int {
	t.Helper()
	var acks atomic.Int64
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(t, &p.client, &acks)
		}()
	}
	deadline := time.Now().Add(time.Minute)
	for acks.Load() < crashAcks && time.Now().Before(deadline) && !t.Failed() {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
	p.kill(t)
	wg.Wait()
	p.http.CloseIdleConnections()
	n := acks.Load()
	var inFlight []string
	for _, w := range workers {
		if w.pending != nil {
			inFlight = append(inFlight, w.pending.kind)
		}
	}
	t.Logf("round %d: killed after %d acknowledged writes, with in flight: %s", round, n, strings.Join(inFlight, ", "))
	if n < crashAcks && !t.Failed() {
		t.Fatalf("round %d: only %d writes acknowledged before the kill, want at least %d", round, n, crashAcks)
	}
	return int(n)
}

// crashWorker is one client. It writes as its own users only, one request
// at a time, so at a kill it has at most one write without an answer.
type crashWorker struct {
	id      int
	rng     *rand.Rand
	next    int // numbers names and titles, so that each is unique
	users   []*crashUser
	pending *crashWrite // the write that got no answer, if any
}

type crashUser struct {
	name, password string
	id             int64
	live           []string // tokens issued and not revoked
	revoked        []string // tokens whose revoke got its 204
	logins         int      // logins sent, answered or not
	posts          []*crashPost
}

type crashPost struct {
	id          int64
	title, body string
	deleted     bool
}

// crashWrite is one write and what it sends.
type crashWrite struct {
	kind        string // "create user", "login", "revoke", "create post", "edit post" or "delete post"
	user        *crashUser
	token       string     // revoke: the token revoked
	post        *crashPost // edit post, delete post
	title, body string     // create post, edit post
}

// run writes until a request gets no answer, which is the kill.
func (w *crashWorker) run(t *testing.T, c *client, acks *atomic.Int64) {
	for !t.Failed() {
		wr := w.choose()
		res, err := w.send(c, wr)
		if err != nil {
			w.pending = wr
			return
		}
		if want := wr.wantStatus(); res.status != want {
			t.Errorf("worker %d: %s = %d %s, want %d", w.id, wr.kind, res.status, res.body, want)
			w.pending = wr
			return
		}
		if err := w.apply(wr, res.body); err != nil {
			t.Errorf("worker %d: %s: %v", w.id, wr.kind, err)
			return
		}
		acks.Add(1)
	}
}

// choose picks the next write: mostly posts, some logins and revokes, now
// and then a new user.
func (w *crashWorker) choose() *crashWrite {
	var u *crashUser
	if n := len(w.users); n > 0 {
		u = w.users[w.rng.IntN(n)]
	}
	newUser := func() *crashWrite {
		w.next++
		name := fmt.Sprintf("w%dn%d", w.id, w.next)
		return &crashWrite{kind: "create user", user: &crashUser{name: name, password: name + "-password"}}
	}
	switch {
	case u == nil:
		return newUser()
	case len(u.live) == 0 && u.logins >= crashMaxLogins:
		return newUser()
	case len(u.live) == 0:
		return &crashWrite{kind: "login", user: u}
	}
	w.next++
	title := fmt.Sprintf("w%d post %d", w.id, w.next)
	body := strings.Repeat(title+" says something. ", 1+w.rng.IntN(200))
	var live []*crashPost
	for _, p := range u.posts {
		if !p.deleted {
			live = append(live, p)
		}
	}
	switch r := w.rng.IntN(12); {
	case r < 1:
		return newUser()
	case r < 3 && u.logins < crashMaxLogins:
		return &crashWrite{kind: "login", user: u}
	case r < 4 && len(u.live) > 1:
		return &crashWrite{kind: "revoke", user: u, token: u.live[w.rng.IntN(len(u.live)-1)+1]}
	case r < 9 && len(live) > 0:
		p := live[w.rng.IntN(len(live))]
		return &crashWrite{kind: "edit post", user: u, post: p, title: title, body: body}
	case r < 11 && len(live) > 0:
		return &crashWrite{kind: "delete post", user: u, post: live[w.rng.IntN(len(live))]}
	}
	return &crashWrite{kind: "create post", user: u, title: title, body: body}
}

func (wr *crashWrite) wantStatus() int {
	switch wr.kind {
	case "create user", "create post":
		return http.StatusCreated
	case "revoke", "delete post":
		return http.StatusNoContent
	}
	return http.StatusOK
}

// send sends the write. A revoke takes its token out of the user's live ones
// at once: from here on its fate is unknown until it is answered.
func (w *crashWorker) send(c *client, wr *crashWrite) (response, error) {
	u := wr.user
	switch wr.kind {
	case "create user":
		return c.do("POST", "/api/users", fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": %q}`,
			u.name, u.name, u.password))
	case "login":
		u.logins++
		return c.do("POST", "/api/tokens", "", basic(u.name, u.password))
	case "revoke":
		for i, tok := range u.live {
			if tok == wr.token {
				u.live = append(u.live[:i], u.live[i+1:]...)
				break
			}
		}
		return c.do("DELETE", "/api/tokens", "", bearer(wr.token))
	case "create post":
		return c.do("POST", "/api/posts", crashPostBody(wr.title, wr.body), bearer(u.live[0]))
	case "edit post":
		return c.do("PUT", postPath(wr.post.id), crashPostBody(wr.title, wr.body), bearer(u.live[0]))
	case "delete post":
		return c.do("DELETE", postPath(wr.post.id), "", bearer(u.live[0]))
	}
	panic("unknown write " + wr.kind)
}

func crashPostBody(title, body string) string {
	return fmt.Sprintf(`{"title": %q, "body": %q}`, title, body)
}

// apply records an acknowledged write.
func (w *crashWorker) apply(wr *crashWrite, data []byte) error {
	var answer struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &answer); err != nil {
			return fmt.Errorf("answer %q: %v", data, err)
		}
	}
	u := wr.user
	switch wr.kind {
	case "create user":
		u.id = answer.ID
		w.users = append(w.users, u)
	case "login":
		u.live = append(u.live, answer.Token)
	case "revoke":
		u.revoked = append(u.revoked, wr.token)
	case "create post":
		u.posts = append(u.posts, &crashPost{id: answer.ID, title: wr.title, body: wr.body})
	case "edit post":
		wr.post.title, wr.post.body = wr.title, wr.body
	case "delete post":
		wr.post.deleted = true
	}
	return nil
}
