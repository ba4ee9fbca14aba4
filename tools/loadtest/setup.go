package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Setup runs before the clock starts, through net/http: it is a few dozen
// requests, so clarity matters more than speed. Signing up and logging in
// each cost a full password hash (about 0.1 s in tokenapi, which runs one
// per CPU at once), so setup makes few users and the connections share
// their tokens.

// setupTimeout bounds one setup request; a sign-up may queue behind the
// others for a hashing slot.
const setupTimeout = 30 * time.Second

// setupConfig says how much to create.
type setupConfig struct {
	users int  // token-holding users
	posts int  // posts created before the run
	login bool // whether the mix logs in, which needs its own user
}

// apiClient makes setup's calls against baseURL.
type apiClient struct {
	baseURL string
	http    *http.Client
}

func newAPIClient(baseURL string) *apiClient {
	return &apiClient{baseURL: baseURL, http: &http.Client{Timeout: setupTimeout}}
}

// setup creates the users, tokens and posts that the load needs. Names
// carry a random suffix so that runs against a long-lived server (-url) do
// not collide with earlier ones.
func setup(ctx context.Context, api *apiClient, host string, cfg setupConfig) (*fixture, error) {
	suffix := randomHex(4)
	n := cfg.users
	if cfg.login {
		n++ // the last one is the login scenario's
	}
	accounts := make([]account, n)
	err := forEach(n, n, func(i int) error {
		a := account{
			username: fmt.Sprintf("bench_%s_%d", suffix, i+1),
			password: randomHex(12),
		}
		id, err := api.signUp(ctx, a.username, a.username+"@example.com", a.password)
		if err != nil {
			return err
		}
		a.id = id
		if a.token, err = api.login(ctx, a.username, a.password); err != nil {
			return err
		}
		accounts[i] = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	f := &fixture{host: host, users: accounts[:cfg.users]}
	if cfg.login {
		f.loginUser = accounts[cfg.users]
	}

	if cfg.posts > 0 {
		// The first post finds the path this server takes posts on.
		if f.postPath, err = api.findPostPath(ctx, f.users[0]); err != nil {
			return nil, err
		}
		err = forEach(cfg.posts-1, 4, func(i int) error {
			return api.createPost(ctx, f.postPath, f.users[(i+1)%len(f.users)])
		})
		if err != nil {
			return nil, err
		}
	} else {
		f.postPath = "/api/posts"
	}
	return f, nil
}

// forEach runs fn(0..n-1) with at most par at once and returns the first
// error.
func forEach(n, par int, fn func(i int) error) error {
	var (
		wg       sync.WaitGroup
		once     sync.Once
		firstErr error
	)
	sem := make(chan struct{}, max(par, 1))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := fn(i); err != nil {
				once.Do(func() { firstErr = err })
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (c *apiClient) signUp(ctx context.Context, username, email, password string) (int64, error) {
	body, _ := json.Marshal(map[string]string{"username": username, "email": email, "password": password})
	var user struct {
		ID json.Number `json:"id"`
	}
	if err := c.call(ctx, "POST", "/api/users", "", body, http.StatusCreated, &user); err != nil {
		return 0, fmt.Errorf("sign up %s: %w", username, err)
	}
	id, err := user.ID.Int64()
	if err != nil {
		return 0, fmt.Errorf("sign up %s: the response has no numeric id", username)
	}
	return id, nil
}

func (c *apiClient) login(ctx context.Context, username, password string) (string, error) {
	var tok struct {
		Token string `json:"token"`
	}
	auth := "Basic " + basicCredentials(username, password)
	if err := c.call(ctx, "POST", "/api/tokens", auth, nil, http.StatusOK, &tok); err != nil {
		return "", fmt.Errorf("log in as %s: %w", username, err)
	}
	if tok.Token == "" {
		return "", fmt.Errorf("log in as %s: the response has no token", username)
	}
	return tok.Token, nil
}

// findPostPath creates a post with POST /api/posts, tokenapi's path. The
// Flask tutorial only takes POST /api/posts/user/{id} (which tokenapi also
// takes, for the caller's own id): when the first answers 404 or 405, the
// second is used for the rest of the run.
func (c *apiClient) findPostPath(ctx context.Context, author account) (string, error) {
	err := c.createPost(ctx, "/api/posts", author)
	var se *statusError
	if !errors.As(err, &se) || (se.got != http.StatusNotFound && se.got != http.StatusMethodNotAllowed) {
		return "/api/posts", err
	}
	const flaskPath = "/api/posts/user/{id}"
	return flaskPath, c.createPost(ctx, flaskPath, author)
}

func (c *apiClient) createPost(ctx context.Context, pathTemplate string, author account) error {
	path := strings.ReplaceAll(pathTemplate, "{id}", strconv.FormatInt(author.id, 10))
	if err := c.call(ctx, "POST", path, "Bearer "+author.token, []byte(postBody), http.StatusCreated, nil); err != nil {
		return fmt.Errorf("create a post: %w", err)
	}
	return nil
}

// getRaw fetches path with a bearer token and returns the body and its
// Content-Type as served, for the baseline to serve the same.
func (c *apiClient) getRaw(ctx context.Context, path, token string) (body []byte, contentType string, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.baseURL+path, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", &statusError{method: "GET", path: path, got: resp.StatusCode, want: http.StatusOK, body: snippet(body)}
	}
	return body, resp.Header.Get("Content-Type"), nil
}

// statusError is a setup call that got the wrong status.
type statusError struct {
	method, path string
	got, want    int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s = %d, want %d: %s", e.method, e.path, e.got, e.want, e.body)
}

// call sends one JSON request and decodes a JSON answer into out (unless
// out is nil), requiring status want.
func (c *apiClient) call(ctx context.Context, method, path, auth string, body []byte, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return &statusError{method: method, path: path, got: resp.StatusCode, want: want, body: snippet(data)}
	}
	if out == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(out); err != nil {
		return fmt.Errorf("%s %s: the response is not the JSON expected: %w", method, path, err)
	}
	return nil
}

// snippet keeps an error body short enough for one line of output.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// basicCredentials is the base64 part of a Basic Authorization header.
func basicCredentials(username, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(username + ":" + password))
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails on supported platforms (Go 1.24+)
	return hex.EncodeToString(b)
}

// The pages -page names.
const (
	pageFirst  = "first"
	pageMiddle = "middle"
	pageLast   = "last"
)

// choosePages sets the pages the list scenarios read. The middle and last
// pages are counted from the collections' own _meta.total_pages, asked
// once here: the same for a seeded database and a long-lived server
// (-url). Posts the run creates only fill the last page further.
func choosePages(ctx context.Context, api *apiClient, f *fixture, which string) error {
	f.usersPage, f.postsPage = 1, 1
	if which == pageFirst {
		return nil
	}
	for _, c := range []struct {
		path string
		dst  *int
	}{{"/api/users", &f.usersPage}, {"/api/posts", &f.postsPage}} {
		var page struct {
			Meta struct {
				TotalPages int `json:"total_pages"`
			} `json:"_meta"`
		}
		if err := api.call(ctx, "GET", listPath(c.path, 1), "Bearer "+f.users[0].token, nil, http.StatusOK, &page); err != nil {
			return fmt.Errorf("count the pages: %w", err)
		}
		last := max(page.Meta.TotalPages, 1)
		*c.dst = last
		if which == pageMiddle {
			*c.dst = (last + 1) / 2
		}
	}
	return nil
}
