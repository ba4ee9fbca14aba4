package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	crashRounds  = 4
	crashWorkers = 4
	// crashAcks is how many writes a round acknowledges before the kill
	// may come, so that every round has something to lose.
	crashAcks = 80
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
// appear, and SQLite must find the file sound after every kill.
func TestKill9KeepsAcknowledgedWrites(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "crash.db")
	args := []string{"-addr", "127.0.0.1:0", "-db", dbPath}
	cheapHash := childIterationsEnv + "=1000"
	workers := make([]*crashWorker, crashWorkers)
	for i := range workers {
		workers[i] = &crashWorker{id: i, rng: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	}

	total := 0
	for round := range crashRounds {
		c := startChild(t, dir, args, cheapHash)
		a := newAPI(c.waitServing(t))
		if round > 0 {
			verifyCrashState(t, a, workers)
			if t.Failed() {
				return
			}
		}
		var acks atomic.Int64
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(t, a, &acks)
			}()
		}
		deadline := time.Now().Add(time.Minute)
		for acks.Load() < crashAcks && time.Now().Before(deadline) && !t.Failed() {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		c.kill(t)
		wg.Wait()
		a.close()
		n := acks.Load()
		total += int(n)
		var inFlight []string
		for _, w := range workers {
			if w.pending != nil {
				inFlight = append(inFlight, w.pending.kind)
			}
		}
		t.Logf("round %d: killed after %d acknowledged writes, with in flight: %s", round, n, strings.Join(inFlight, ", "))
		if t.Failed() {
			return
		}
		if n < crashAcks {
			t.Fatalf("round %d: only %d writes acknowledged before the kill, want at least %d", round, n, crashAcks)
		}
		checkIntegrity(t, dbPath)
		if t.Failed() {
			return
		}
	}

	c := startChild(t, dir, args, cheapHash)
	a := newAPI(c.waitServing(t))
	verifyCrashState(t, a, workers)
	a.close()
	c.signal(t, syscall.SIGTERM)
	if code := c.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit code after SIGTERM = %d, want 0", code)
	}
	checkIntegrity(t, dbPath)
	t.Logf("%d acknowledged writes over %d kills", total, crashRounds)
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
func (w *crashWorker) run(t *testing.T, a *api, acks *atomic.Int64) {
	for !t.Failed() {
		wr := w.choose()
		status, data, err := w.send(a, wr)
		if err != nil {
			w.pending = wr
			return
		}
		if want := wr.wantStatus(); status != want {
			t.Errorf("worker %d: %s = %d %s, want %d", w.id, wr.kind, status, data, want)
			w.pending = wr
			return
		}
		if err := w.apply(wr, data); err != nil {
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
func (w *crashWorker) send(a *api, wr *crashWrite) (int, []byte, error) {
	u := wr.user
	switch wr.kind {
	case "create user":
		return a.do("POST", "/api/users", fmt.Sprintf(`{"username": %q, "email": "%s@example.com", "password": %q}`,
			u.name, u.name, u.password), nil)
	case "login":
		u.logins++
		return a.do("POST", "/api/tokens", "", basic(u.name, u.password))
	case "revoke":
		for i, tok := range u.live {
			if tok == wr.token {
				u.live = append(u.live[:i], u.live[i+1:]...)
				break
			}
		}
		return a.do("DELETE", "/api/tokens", "", bearer(wr.token))
	case "create post":
		return a.do("POST", "/api/posts", crashPostBody(wr.title, wr.body), bearer(u.live[0]))
	case "edit post":
		return a.do("PUT", postPath(wr.post.id), crashPostBody(wr.title, wr.body), bearer(u.live[0]))
	case "delete post":
		return a.do("DELETE", postPath(wr.post.id), "", bearer(u.live[0]))
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

// verifyCrashState checks a restarted server against what the workers were
// told, and settles each write that was in flight at the kill by what the
// server now shows.
func verifyCrashState(t *testing.T, a *api, workers []*crashWorker) {
	var (
		reader      string   // a token to read posts with
		checkTokens []string // logins made here, revoked at the end
	)
	for _, w := range workers {
		for _, u := range w.users {
			status, data, err := a.do("POST", "/api/tokens", "", basic(u.name, u.password))
			if err != nil || status != http.StatusOK {
				t.Errorf("POST /api/tokens as %s after the kill = %d %s (%v), want 200", u.name, status, data, err)
			} else {
				var answer struct{ Token string }
				json.Unmarshal(data, &answer)
				reader = answer.Token
				checkTokens = append(checkTokens, answer.Token)
			}
			path := userPath(u.id)
			for _, tok := range u.live {
				if status, _, err := a.do("GET", path, "", bearer(tok)); err != nil || status != http.StatusOK {
					t.Errorf("GET %s with a token issued to %s = %d (%v), want 200", path, u.name, status, err)
				}
			}
			for _, tok := range u.revoked {
				if status, _, err := a.do("GET", path, "", bearer(tok)); err != nil || status != http.StatusUnauthorized {
					t.Errorf("GET %s with a token of %s whose revoke got 204 = %d (%v), want 401", path, u.name, status, err)
				}
			}
		}
		if wr := w.pending; wr != nil && wr.kind == "revoke" {
			switch status, _, err := a.do("GET", userPath(wr.user.id), "", bearer(wr.token)); {
			case err == nil && status == http.StatusOK:
				wr.user.live = append(wr.user.live, wr.token)
			case err == nil && status == http.StatusUnauthorized:
				wr.user.revoked = append(wr.user.revoked, wr.token)
			default:
				t.Errorf("GET with a token whose revoke was in flight = %d (%v), want 200 or 401", status, err)
			}
		}
	}
	if reader == "" {
		t.Fatalf("no user could log in after the kill")
	}

	// Every user the server lists was acknowledged or in flight.
	users := map[string]int64{}
	for _, item := range listAll(t, a, "/api/users", reader) {
		var u struct {
			ID       int64
			Username string
		}
		json.Unmarshal(item, &u)
		users[u.Username] = u.ID
	}
	known := map[string]bool{}
	for _, w := range workers {
		for _, u := range w.users {
			known[u.name] = true
			if id, ok := users[u.name]; !ok || id != u.id {
				t.Errorf("user %s (id %d) listed with id %d, %v after the kill", u.name, u.id, id, ok)
			}
		}
		if wr := w.pending; wr != nil && wr.kind == "create user" {
			if id, ok := users[wr.user.name]; ok {
				wr.user.id = id
				w.users = append(w.users, wr.user)
				known[wr.user.name] = true
			}
		}
	}
	for name := range users {
		if !known[name] {
			t.Errorf("user %s is listed after the kill, but no one created it", name)
		}
	}

	// Every post the server lists was acknowledged or in flight, with the
	// content last acknowledged, or the content in flight.
	type listedPost struct {
		ID          int64
		Title, Body string
		Author      struct{ ID int64 }
	}
	posts := map[int64]listedPost{}
	for _, item := range listAll(t, a, "/api/posts", reader) {
		var p listedPost
		json.Unmarshal(item, &p)
		posts[p.ID] = p
	}
	// Titles are unique, so a title tells a post from a later one that took
	// over its id: SQLite gives a new row the highest id plus one, which
	// can be the id of the newest post, deleted.
	for _, w := range workers {
		wr := w.pending
		for _, u := range w.users {
			for _, p := range u.posts {
				if p.deleted {
					continue
				}
				got, ok := posts[p.id]
				edited := wr != nil && wr.kind == "edit post" && wr.post == p && got.Title == wr.title
				isP := ok && got.Author.ID == u.id && (got.Title == p.title || edited)
				switch {
				case !isP && wr != nil && wr.kind == "delete post" && wr.post == p:
					p.deleted = true
				case !ok || got.Author.ID != u.id:
					t.Errorf("post %d %q by %s is lost after the kill; its create got 201", p.id, p.title, u.name)
				case !isP:
					t.Errorf("post %d after the kill = %q, want %q as acknowledged", p.id, got.Title, p.title)
					delete(posts, p.id)
				case edited && got.Body != wr.body, !edited && got.Body != p.body:
					t.Errorf("post %d %q: body after the kill has %d bytes, not the %d acknowledged or in flight",
						p.id, got.Title, len(got.Body), len(p.body))
					delete(posts, p.id)
				default:
					p.title, p.body = got.Title, got.Body
					delete(posts, p.id)
				}
			}
		}
	}
	for _, w := range workers {
		for _, u := range w.users {
			for _, p := range u.posts {
				if got, ok := posts[p.id]; ok && p.deleted && got.Title == p.title {
					t.Errorf("post %d %q is back after the kill; its delete got 204", p.id, p.title)
					delete(posts, p.id)
				}
			}
		}
		if wr := w.pending; wr != nil && wr.kind == "create post" {
			for id, got := range posts {
				if got.Title == wr.title && got.Body == wr.body && got.Author.ID == wr.user.id {
					wr.user.posts = append(wr.user.posts, &crashPost{id: id, title: got.Title, body: got.Body})
					delete(posts, id)
				}
			}
		}
		w.pending = nil
	}
	for id, got := range posts {
		t.Errorf("post %d %q is listed after the kill, but no one created it", id, got.Title)
	}

	for _, tok := range checkTokens {
		if status, _, err := a.do("DELETE", "/api/tokens", "", bearer(tok)); err != nil || status != http.StatusNoContent {
			t.Errorf("DELETE /api/tokens = %d (%v), want 204", status, err)
		}
	}
}

// listAll gets every page of a collection and returns its items.
func listAll(t *testing.T, a *api, path, token string) []json.RawMessage {
	t.Helper()
	var items []json.RawMessage
	for page := 1; ; page++ {
		p := fmt.Sprintf("%s?page=%d&per_page=100", path, page)
		status, data, err := a.do("GET", p, "", bearer(token))
		if err != nil || status != http.StatusOK {
			t.Fatalf("GET %s = %d %s (%v), want 200", p, status, data, err)
		}
		var got struct {
			Items []json.RawMessage
			Meta  struct {
				TotalPages int `json:"total_pages"`
			} `json:"_meta"`
		}
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("GET %s: %v", p, err)
		}
		items = append(items, got.Items...)
		if page >= got.Meta.TotalPages {
			return items
		}
	}
}
