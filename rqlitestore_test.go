package main

import (
	"context"
	"database/sql"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The store on rqlite without a cluster: what the service makes of the
// driver's refusals. The driver's own tests are in internal/rqlite.

// The service refuses a bad rqlite URL as it opens the store, before it
// sends anything, and never with the password in the error.
func TestOpenStoreRefusesBadRqliteURL(t *testing.T) {
	for _, url := range []string{"rqlite://admin:s3cret@127.0.0.1:4001", "rqlite://db%41:4001"} {
		st, err := openStore(context.Background(), url)
		if err == nil {
			st.Close()
			t.Fatalf("openStore(%q) succeeded", url)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("openStore(%q) = %q; the password is in it", url, err)
		}
	}
}

// A sign-up is one write. When the node's answer to it is lost, it may
// have been applied: the driver does not send it again, to that node or
// any other, and the API answers 503 with Retry-After.
func TestRqliteLostWriteIs503(t *testing.T) {
	var requests atomic.Int64
	fakeNode := func() string {
		// It reads each request whole and then drops the connection
		// without a word: the node got the request, and its answer is lost.
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requests.Add(1)
			io.Copy(io.Discard, r.Body)
			if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
				conn.Close()
			}
		}))
		t.Cleanup(hs.Close)
		return hs.Listener.Addr().String()
	}
	api := newTestServerOnRqlite(t, "rqlite://"+fakeNode()+","+fakeNode())
	res := api.callWith(t, "POST", "/api/users", `{"username":"ann","email":"ann@example.com","password":"correct horse"}`)
	wantError(t, "POST /api/users with the answer lost", res, http.StatusServiceUnavailable,
		"the database is unavailable for a moment; try again shortly (a write may or may not have been applied)")
	if got := res.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
	if got := requests.Load(); got != 1 {
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
