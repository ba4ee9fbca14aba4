package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// runner sends the contract run's requests, through Prism or straight to
// the server, and keeps what it learns: the documented answers reached and
// every failure.
type runner struct {
	prism, server string // base URLs
	client        *http.Client
	verbose       bool

	mu       sync.Mutex
	seen     map[answer]bool
	failures []string
}

func newRunner(prism, server string, verbose bool) *runner {
	return &runner{prism: prism, server: server, client: &http.Client{}, verbose: verbose, seen: map[answer]bool{}}
}

// option changes a request before it is sent.
type option func(*http.Request)

func basic(username, password string) option {
	return func(r *http.Request) { r.SetBasicAuth(username, password) }
}

func bearer(token string) option {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
}

func header(name, value string) option {
	return func(r *http.Request) { r.Header.Set(name, value) }
}

// body sends text as the body, with contentType unless that is "".
func body(contentType, text string) option {
	return func(r *http.Request) {
		r.Body = io.NopCloser(strings.NewReader(text))
		r.ContentLength = int64(len(text))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
	}
}

func jsonBody(text string) option { return body("application/json", text) }

// reply is what the run looks at of an answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// field returns a top-level field of a JSON object body, or nil.
func (r reply) field(name string) any {
	var m map[string]any
	json.Unmarshal(r.body, &m)
	return m[name]
}

// expect sends method path through Prism and wants status back. op is the
// document's operation the request is for, e.g. "GET /api/users/{id}";
// the answer counts as reaching op's status in the document.
func (r *runner) expect(status int, op, path string, options ...option) reply {
	return r.expectOneOf([]int{status}, op, path, options...)
}

// expectOneOf is expect for a request that may get any of statuses, such
// as one of many sent at once, some of which find the server busy.
func (r *runner) expectOneOf(statuses []int, op, path string, options ...option) reply {
	method, _, _ := strings.Cut(op, " ")
	if !matchesOp(op, method, path) {
		r.fail("the run's own mistake: %s is not a request for %s", path, op)
	}
	res := r.send(r.prism, method, path, options)
	r.mu.Lock()
	r.seen[answer{op, res.status}] = true
	r.mu.Unlock()
	if !slices.Contains(statuses, res.status) {
		want := make([]string, len(statuses))
		for i, s := range statuses {
			want[i] = strconv.Itoa(s)
		}
		r.fail("%s %s = %d, want %s: %.300s", method, path, res.status, strings.Join(want, " or "), res.body)
	}
	for _, v := range responseViolations(res.header.Get("sl-violations"), res.status < 300) {
		r.fail("%s %s = %d: Prism: %s", method, path, res.status, v)
	}
	return res
}

// expectDirect sends method path straight to the server, for what Prism
// cannot pass on (a JSON body it cannot parse) or has no operation for (a
// method a path does not take). Without Prism to check it, the answer's
// error shape is checked here.
func (r *runner) expectDirect(status int, method, path string, options ...option) reply {
	res := r.send(r.server, method, path, options)
	r.check(status, method, path, res)
	if status >= 400 {
		var e map[string]any
		err := json.Unmarshal(res.body, &e)
		if text, _ := e["error"].(string); err != nil || text != http.StatusText(status) || len(e) > 2 {
			r.fail("%s %s = %d: body %s is not {\"error\": %q, \"message\": ...}", method, path, res.status, res.body, http.StatusText(status))
		}
		if _, ok := e["message"]; len(e) == 2 && !ok {
			r.fail("%s %s = %d: body %s has a field besides error and message", method, path, res.status, res.body)
		}
	}
	return res
}

func (r *runner) send(base, method, path string, options []option) reply {
	req, err := http.NewRequest(method, base+path, nil)
	if err != nil {
		r.fail("%s %s: %v", method, path, err)
		return reply{header: http.Header{}}
	}
	for _, o := range options {
		o(req)
	}
	res, err := r.client.Do(req)
	if err != nil {
		r.fail("%s %s: %v", method, path, err)
		return reply{header: http.Header{}}
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		r.fail("%s %s: reading the answer: %v", method, path, err)
	}
	if r.verbose {
		fmt.Printf("%s %s = %d\n", method, path, res.StatusCode)
	}
	return reply{status: res.StatusCode, header: res.Header, body: data}
}

func (r *runner) check(want int, method, path string, res reply) {
	if res.status != want {
		r.fail("%s %s = %d, want %d: %.300s", method, path, res.status, want, res.body)
	}
}

func (r *runner) fail(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
