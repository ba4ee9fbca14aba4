package main

import (
	"fmt"
	"strconv"
	"strings"
)

// The scenarios a mix can name. Each is one request shape; every connection
// gets its own prebuilt copy of each (its own token, a user id to read).
const (
	scenarioGetUser    = "get-user"    // GET /api/users/{id} of another user
	scenarioListUsers  = "list-users"  // GET /api/users?per_page=10
	scenarioListPosts  = "list-posts"  // GET /api/posts?per_page=10
	scenarioCreatePost = "create-post" // POST a post as the token's user
	scenarioLogin      = "login"       // POST /api/tokens with Basic auth
)

// scenarioNames lists them in the order the help text shows.
func scenarioNames() []string {
	return []string{scenarioGetUser, scenarioListUsers, scenarioListPosts, scenarioCreatePost, scenarioLogin}
}

// maxMixWeight keeps a mix's schedule short enough to cycle through often.
const maxMixWeight = 1000

// mixEntry is one scenario of a mix and its share of the requests.
type mixEntry struct {
	name   string
	weight int
}

// parseMix reads "get-user=8,list-users=1"; a name alone has weight 1.
func parseMix(s string) ([]mixEntry, error) {
	known := make(map[string]bool)
	for _, name := range scenarioNames() {
		known[name] = true
	}
	var mix []mixEntry
	seen := make(map[string]bool)
	total := 0
	for _, item := range strings.Split(s, ",") {
		name, weightText, hasWeight := strings.Cut(strings.TrimSpace(item), "=")
		if !known[name] {
			return nil, fmt.Errorf("-mix: unknown scenario %q; want one of %s", name, strings.Join(scenarioNames(), ", "))
		}
		if seen[name] {
			return nil, fmt.Errorf("-mix: %s is named twice", name)
		}
		seen[name] = true
		weight := 1
		if hasWeight {
			w, err := strconv.Atoi(weightText)
			if err != nil || w < 1 {
				return nil, fmt.Errorf("-mix: weight of %s must be a positive integer, not %q", name, weightText)
			}
			weight = w
		}
		total += weight
		if total > maxMixWeight {
			return nil, fmt.Errorf("-mix: weights add up to more than %d", maxMixWeight)
		}
		mix = append(mix, mixEntry{name, weight})
	}
	return mix, nil
}

func (m mixEntry) String() string { return m.name + "=" + strconv.Itoa(m.weight) }

func mixString(mix []mixEntry) string {
	parts := make([]string, len(mix))
	for i, m := range mix {
		parts[i] = m.String()
	}
	return strings.Join(parts, ",")
}

func mixHas(mix []mixEntry, name string) bool {
	for _, m := range mix {
		if m.name == name {
			return true
		}
	}
	return false
}

// schedule spreads a mix over one cycle of requests, as indexes into mix,
// by smooth weighted round-robin: get-user=2,login=1 gives get-user, login,
// get-user rather than a run of each. Every connection walks the same cycle
// from its own offset, so at any moment the load holds each scenario in
// proportion, with no random numbers in the hot loop.
func schedule(mix []mixEntry) []int {
	total := 0
	for _, m := range mix {
		total += m.weight
	}
	current := make([]int, len(mix))
	cycle := make([]int, 0, total)
	for range total {
		best := 0
		for i, m := range mix {
			current[i] += m.weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		cycle = append(cycle, best)
	}
	return cycle
}

// account is a user the setup created.
type account struct {
	id       int64
	username string
	password string
	token    string
}

// fixture is what setup leaves for the load: who can call, and how.
type fixture struct {
	host string // the Host header
	// users hold the tokens that every bearer request uses, round-robin
	// over connections.
	users []account
	// loginUser is only logged in by the login scenario. tokenapi keeps
	// 100 tokens per user and retires the oldest, so logging in as a user
	// whose token other connections hold would end up revoking it.
	loginUser account
	// postPath is where a post is created, with {id} for the author's id:
	// /api/posts in tokenapi, /api/posts/user/{id} in the Flask tutorial.
	postPath string
	// seeded is what -seed-users wrote before the server started.
	seeded seedResult
	// usersPage and postsPage are the pages list-users and list-posts
	// read (-page); 1 is the first, which the request leaves implicit.
	usersPage, postsPage int
}

// postBody is what the create-post scenario sends: short enough for the
// Flask tutorial's columns (title 64, body 140 characters).
const postBody = `{"title":"bench post","body":"A post written by the load tool, the same for every request."}`

// buildRequest returns the bytes of the named scenario's request as
// connection k sends it.
func buildRequest(name string, f *fixture, k int) []byte {
	u := f.users[k%len(f.users)]
	bearer := "Authorization: Bearer " + u.token + "\r\n"
	switch name {
	case scenarioGetUser:
		return requestBytes("GET", getUserPath(f, k), f.host, bearer, "")
	case scenarioListUsers:
		return requestBytes("GET", listPath("/api/users", f.usersPage), f.host, bearer, "")
	case scenarioListPosts:
		return requestBytes("GET", listPath("/api/posts", f.postsPage), f.host, bearer, "")
	case scenarioCreatePost:
		path := strings.ReplaceAll(f.postPath, "{id}", strconv.FormatInt(u.id, 10))
		return requestBytes("POST", path, f.host, bearer+"Content-Type: application/json\r\n", postBody)
	case scenarioLogin:
		basic := basicCredentials(f.loginUser.username, f.loginUser.password)
		return requestBytes("POST", "/api/tokens", f.host, "Authorization: Basic "+basic+"\r\n", "")
	}
	panic("buildRequest: unknown scenario " + name)
}

// listPath is a list route's path for one page of 10 items; the first
// page is asked for without a page parameter, as a client would.
func listPath(path string, page int) string {
	if page <= 1 {
		return path + "?per_page=10"
	}
	return path + "?per_page=10&page=" + strconv.Itoa(page)
}

// requestBytes writes an HTTP/1.1 request. extraHeaders is zero or more
// complete header lines. A POST always carries Content-Length, even 0, as
// servers may refuse a POST without one (411).
func requestBytes(method, target, host, extraHeaders, body string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tokenapi-bench\r\n%s", method, target, host, extraHeaders)
	if method != "GET" || body != "" {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(body))
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return []byte(b.String())
}
