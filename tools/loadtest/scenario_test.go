package main

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestParseMix(t *testing.T) {
	tests := []struct {
		in      string
		want    string // mixString of the result; "" for an error
		wantErr string
	}{
		{in: "get-user", want: "get-user=1"},
		{in: "get-user=8, list-users=1,list-posts,create-post=2,login=1", want: "get-user=8,list-users=1,list-posts=1,create-post=2,login=1"},
		{in: "get-users", wantErr: "unknown scenario"},
		{in: "", wantErr: "unknown scenario"},
		{in: "get-user=0", wantErr: "positive integer"},
		{in: "get-user=x", wantErr: "positive integer"},
		{in: "get-user,get-user=2", wantErr: "named twice"},
		{in: "get-user=600,login=600", wantErr: "add up"},
	}
	for _, tt := range tests {
		mix, err := parseMix(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("parseMix(%q) error = %v, want one saying %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || mixString(mix) != tt.want {
			t.Errorf("parseMix(%q) = %q, %v; want %q, nil", tt.in, mixString(mix), err, tt.want)
		}
	}
}

func TestScheduleIsProportionalAndSpread(t *testing.T) {
	mix := []mixEntry{{"get-user", 8}, {"list-users", 1}, {"list-posts", 1}, {"create-post", 2}}
	cycle := schedule(mix)
	if len(cycle) != 12 {
		t.Fatalf("schedule of weights 8,1,1,2 has %d entries, want 12", len(cycle))
	}
	counts := make([]int, len(mix))
	for _, s := range cycle {
		counts[s]++
	}
	if !slices.Equal(counts, []int{8, 1, 1, 2}) {
		t.Errorf("schedule counts = %v, want [8 1 1 2]", counts)
	}
	// Spread, not runs: the heaviest never appears more than 4 in a row
	// (8 of 12, with the others between).
	run := 0
	for _, s := range append(cycle, cycle...) {
		if s == 0 {
			run++
		} else {
			run = 0
		}
		if run > 4 {
			t.Fatalf("schedule %v has a run of %d get-user", cycle, run)
		}
	}
	if got := schedule([]mixEntry{{"get-user", 2}, {"login", 1}}); !slices.Equal(got, []int{0, 1, 0}) {
		t.Errorf("schedule(get-user=2,login=1) = %v, want [0 1 0]", got)
	}
}

// Every scenario's bytes are a request Go's own server parser accepts,
// with the method, path, credentials and body intended.
func TestBuildRequestIsValidHTTP(t *testing.T) {
	f := &fixture{
		host:      "127.0.0.1:5000",
		users:     []account{{id: 7, token: "tok7"}, {id: 9, token: "tok9"}},
		loginUser: account{username: "bench_x_3", password: "secret"},
		postPath:  "/api/posts/user/{id}",
	}
	tests := []struct {
		name, method, uri, auth, body string
	}{
		{scenarioGetUser, "GET", "/api/users/9", "Bearer tok7", ""},
		{scenarioListUsers, "GET", "/api/users?per_page=10", "Bearer tok7", ""},
		{scenarioListPosts, "GET", "/api/posts?per_page=10", "Bearer tok7", ""},
		{scenarioCreatePost, "POST", "/api/posts/user/7", "Bearer tok7", postBody},
		{scenarioLogin, "POST", "/api/tokens", "Basic " + basicCredentials("bench_x_3", "secret"), ""},
	}
	for _, tt := range tests {
		raw := buildRequest(tt.name, f, 0)
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
		if err != nil {
			t.Errorf("%s: http.ReadRequest(%q): %v", tt.name, raw, err)
			continue
		}
		body, _ := io.ReadAll(req.Body)
		if req.Method != tt.method || req.RequestURI != tt.uri || req.Host != f.host ||
			req.Header.Get("Authorization") != tt.auth || string(body) != tt.body {
			t.Errorf("%s: %s %s Host %s Authorization %q body %q; want %s %s Host %s Authorization %q body %q",
				tt.name, req.Method, req.RequestURI, req.Host, req.Header.Get("Authorization"), body,
				tt.method, tt.uri, f.host, tt.auth, tt.body)
		}
		if req.Method == "POST" && req.ContentLength != int64(len(tt.body)) {
			t.Errorf("%s: Content-Length %d, want %d", tt.name, req.ContentLength, len(tt.body))
		}
	}
	// Connection 1 holds the other token and reads the other user.
	if raw := string(buildRequest(scenarioGetUser, f, 1)); !strings.HasPrefix(raw, "GET /api/users/7 ") || !strings.Contains(raw, "Bearer tok9") {
		t.Errorf("connection 1's get-user = %q, want GET /api/users/7 with tok9", raw)
	}
}
