package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestCORSInChromium has a real browser hold the line: headless Chromium
// (Debian's chromium package, as .ci/docs-check uses it) opens an app's
// page served from one loopback port, whose script calls the API on
// another with fetch and a bearer token, and writes what it got into the
// page. From the listed origin the call succeeds; from an unlisted one
// the browser refuses it (fetch rejects) and the request itself never
// reaches a handler, because its preflight was refused.
func TestCORSInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("skipping the browser test of CORS: no chromium in PATH (apt-get install chromium; CI installs it)")
	}
	// The page takes the API's address and the token from its own query
	// string, since the API starts after the app's origin is known.
	app := func() *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, appPage(r.FormValue("api"), r.FormValue("token")))
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	listed, unlisted := app(), app()
	ts := newTestServer(t, withCORS(listed.URL))
	_, token := ts.newUser(t, "muthoni")
	query := "/?" + url.Values{"api": {ts.base}, "token": {token}}.Encode()

	got := openInChromium(t, chromium, listed.URL+query)
	if got != "ok 200 muthoni" {
		t.Errorf("the page from the listed origin %s wrote %q, want %q", listed.URL, got, "ok 200 muthoni")
	}
	wantAPILog(t, ts, []string{"OPTIONS 204", "GET 200"})

	got = openInChromium(t, chromium, unlisted.URL+query)
	if !strings.HasPrefix(got, "blocked TypeError") {
		t.Errorf("the page from the unlisted origin %s wrote %q, want the fetch rejected with a TypeError", unlisted.URL, got)
	}
	wantAPILog(t, ts, []string{"OPTIONS 204", "GET 200", "OPTIONS 403"})
}

// appPage is a single-page app in miniature: it reads user 1 from api
// with token and writes "ok <status> <username>", or "blocked <error>" when
// fetch rejects, into the element #out.
func appPage(api, token string) string {
	js := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	return `<!doctype html><title>app</title><pre id="out">pending</pre>
<script>
fetch(` + js(api+"/api/users/1") + `, {headers: {Authorization: "Bearer " + ` + js(token) + `}})
  .then(r => r.json().then(j => "ok " + r.status + " " + j.username))
  .catch(e => "blocked " + e.name + ": " + e.message)
  .then(text => { document.getElementById("out").textContent = text; });
</script>`
}

// openInChromium loads page in headless Chromium and returns the text of
// #out once the page's script has run. --virtual-time-budget has Chromium
// wait for the page's network requests, fetch's included, before it dumps
// the DOM; the timeout only stops a browser that hangs.
func openInChromium(t *testing.T, chromium, page string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=30000", "--dump-dom", page)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v\n%s", page, err, lastLines(stderr.String(), 20))
	}
	m := regexp.MustCompile(`<pre id="out">([^<]*)</pre>`).FindSubmatch(dom)
	if m == nil {
		t.Fatalf("chromium --dump-dom %s: no #out in\n%s", page, dom)
	}
	return html.UnescapeString(string(m[1]))
}

// wantAPILog checks the requests the API served, in order, as "METHOD
// status", from its request log.
func wantAPILog(t *testing.T, ts *testServer, want []string) {
	t.Helper()
	var got []string
	line := regexp.MustCompile(`msg=request method=(\S+) path=/api/users/1 status=(\d+)`)
	for _, m := range line.FindAllStringSubmatch(ts.logs.String(), -1) {
		got = append(got, m[1]+" "+m[2])
	}
	if strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("the API served /api/users/1 as %q, want %q", got, want)
	}
}
