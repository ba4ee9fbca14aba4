package main

import (
	"crypto/sha256"
	"encoding/base64"
	"html"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestDocsPage gets the docs page through the whole handler stack: HTML,
// cached like the document it is made of, under a policy that lets only
// its own style apply, and with every link to this server answered.
// (internal/apidocs's tests check what the page holds.)
func TestDocsPage(t *testing.T) {
	ts := newTestServer(t)
	res := ts.call(t, "GET", "/docs", "", "")
	wantStatus(t, "GET /docs", res, http.StatusOK)
	for name, want := range map[string]string{
		"Content-Type":           "text/html; charset=utf-8",
		"Cache-Control":          "public, max-age=3600",
		"X-Content-Type-Options": "nosniff",
		"X-Frame-Options":        "DENY",
	} {
		if got := res.header.Get(name); got != want {
			t.Errorf("GET /docs: %s = %q, want %q", name, got, want)
		}
	}
	page := string(res.body)

	// The inline style is the only one the policy allows, by its hash:
	// the policy must name the style the page really holds.
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(page)
	if style == nil {
		t.Fatal("GET /docs has no <style>")
	}
	sum := sha256.Sum256([]byte(style[1]))
	wantSource := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	csp := res.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", wantSource, "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("GET /docs: Content-Security-Policy = %q, want it to hold %q", csp, want)
		}
	}

	// The page is rendered elsewhere (internal/apidocs) and names this
	// server's paths, such as /api/openapi.json: each must be served here.
	links := regexp.MustCompile(`href="(/[^"#]*)`).FindAllStringSubmatch(page, -1)
	if len(links) == 0 {
		t.Error("GET /docs links to nothing on this server; want /api/openapi.json at least")
	}
	for _, link := range links {
		linked := ts.callWith(t, "GET", html.UnescapeString(link[1]), "")
		wantStatus(t, "GET "+link[1]+" (linked from /docs)", linked, http.StatusOK)
	}

	head := ts.callWith(t, "HEAD", "/docs", "")
	wantStatus(t, "HEAD /docs", head, http.StatusOK)
	if len(head.body) != 0 || head.header.Get("Content-Length") != res.header.Get("Content-Length") {
		t.Errorf("HEAD /docs = %d bytes, Content-Length %q; want none, %q",
			len(head.body), head.header.Get("Content-Length"), res.header.Get("Content-Length"))
	}
}
