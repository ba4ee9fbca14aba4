package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// openAPIDoc is the part of the OpenAPI document these tests read.
type openAPIDoc struct {
	Info struct {
		Version string `json:"version"`
	} `json:"info"`
	Paths map[string]map[string]json.RawMessage `json:"paths"`
}

// openAPIMethods are the keys of a path item that are operations.
var openAPIMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// documentedRoutes returns "METHOD /path" for every operation of the
// document. An OpenAPI path template such as /api/users/{id} is written as
// a ServeMux pattern, so the two compare as text.
func documentedRoutes(t testing.TB, doc []byte) []string {
	t.Helper()
	var d openAPIDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var routes []string
	for path, item := range d.Paths {
		for key := range item {
			if slices.Contains(openAPIMethods, key) {
				routes = append(routes, strings.ToUpper(key)+" "+path)
			}
		}
	}
	slices.Sort(routes)
	return routes
}

// routeDrift returns the routes served but not documented, and those
// documented but not served.
func routeDrift(served, documented []string) (undocumented, unserved []string) {
	for _, r := range served {
		if !slices.Contains(documented, r) {
			undocumented = append(undocumented, r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(served, r) {
			unserved = append(unserved, r)
		}
	}
	return undocumented, unserved
}

// TestOpenAPIDescribesEveryRoute: routes() and the document list the same
// method and path pairs, so neither can gain a route the other lacks.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	undocumented, unserved := routeDrift(routePatterns(t), documentedRoutes(t, openAPIDocument))
	for _, r := range undocumented {
		t.Errorf("routes() serves %s, which openapi.json does not describe; add it to paths", r)
	}
	for _, r := range unserved {
		t.Errorf("openapi.json describes %s, which routes() does not serve", r)
	}
}

// TestRouteDriftFindsBothSides shows the comparison above failing both
// ways, on the real lists with one route added to either side.
func TestRouteDriftFindsBothSides(t *testing.T) {
	served := routePatterns(t)
	documented := documentedRoutes(t, openAPIDocument)
	undocumented, _ := routeDrift(append(slices.Clone(served), "PATCH /api/posts/{id}"), documented)
	if !slices.Equal(undocumented, []string{"PATCH /api/posts/{id}"}) {
		t.Errorf("a route added to routes() only: undocumented = %q, want [PATCH /api/posts/{id}]", undocumented)
	}
	_, unserved := routeDrift(served, append(slices.Clone(documented), "GET /api/comments"))
	if !slices.Contains(unserved, "GET /api/comments") {
		t.Errorf("a path added to the document only: unserved = %q, want it to hold GET /api/comments", unserved)
	}
}

// routeAuthPattern reads a route of routes.go with its wrapper.
var routeAuthPattern = regexp.MustCompile(`mux\.Handle(?:Func)?\("([^"]+)", (s\.requireBasic|s\.requireToken)?(\(requireWrite)?`)

// TestOpenAPISecurityMatchesRoutes: each operation asks for the
// credentials its wrapper in routes() takes: basicAuth for requireBasic,
// bearerAuth for requireToken, none for a bare handler.
func TestOpenAPISecurityMatchesRoutes(t *testing.T) {
	source, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	var d openAPIDoc
	if err := json.Unmarshal(openAPIDocument, &d); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"s.requireBasic": "basicAuth", "s.requireToken": "bearerAuth", "": ""}
	for _, m := range routeAuthPattern.FindAllSubmatch(source, -1) {
		route, wrapper := string(m[1]), string(m[2])
		method, path, _ := strings.Cut(route, " ")
		raw, ok := d.Paths[path][strings.ToLower(method)]
		if !ok {
			continue // TestOpenAPIDescribesEveryRoute reports it
		}
		var op struct {
			Security *[]map[string][]string `json:"security"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s: %v", route, err)
		}
		if op.Security == nil {
			t.Errorf("%s: the operation has no security; want it stated, [] for none", route)
			continue
		}
		got, scopes := "", []string(nil)
		for _, requirement := range *op.Security {
			for scheme, s := range requirement {
				got, scopes = scheme, s
			}
		}
		if len(*op.Security) > 1 || got != want[wrapper] {
			t.Errorf("%s: security = %v, want %q (the route is wrapped in %q)", route, *op.Security, want[wrapper], wrapper)
		}
		// A route behind requireWrite says so with the write scope, which
		// a read session lacks (403 insufficient_scope).
		needsWrite := len(m[3]) > 0
		if hasWrite := slices.Equal(scopes, []string{"write"}); hasWrite != needsWrite {
			t.Errorf("%s: scopes = %v; the route needs a write session: %v", route, scopes, needsWrite)
		}
	}
}

// TestOpenAPIReferencesResolve: every $ref of the document names a part of
// it, so a renamed component cannot leave a dangling reference.
func TestOpenAPIReferencesResolve(t *testing.T) {
	var doc any
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, found := jsonPointer(doc, ref); !found {
					t.Errorf("$ref %q names nothing in openapi.json", ref)
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(doc)
}

// jsonPointer resolves a local reference such as #/components/schemas/User
// (RFC 6901: ~1 is '/', ~0 is '~').
func jsonPointer(doc any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	v := doc
	for _, token := range strings.Split(rest, "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[token]; !ok {
			return nil, false
		}
	}
	return v, true
}

// TestServeOpenAPIDocument: GET /api/openapi.json needs no token and
// answers the embedded document, valid JSON, which caches may keep; an
// answer to a request with credentials is no-store, as everywhere.
func TestServeOpenAPIDocument(t *testing.T) {
	ts := newTestServer(t)
	res := ts.callWith(t, "GET", "/api/openapi.json", "")
	wantStatus(t, "GET /api/openapi.json", res, http.StatusOK)
	for name, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "public, max-age=3600"} {
		if got := res.header.Get(name); got != want {
			t.Errorf("GET /api/openapi.json: %s = %q, want %q", name, got, want)
		}
	}
	if !bytes.Equal(res.body, openAPIDocument) {
		t.Errorf("GET /api/openapi.json: the body (%d bytes) is not the embedded document (%d bytes)", len(res.body), len(openAPIDocument))
	}
	if !json.Valid(res.body) {
		t.Error("GET /api/openapi.json: the body is not valid JSON")
	}
	onDisk, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(onDisk, openAPIDocument) {
		t.Error("the embedded document is not openapi.json")
	}

	withToken := ts.call(t, "GET", "/api/openapi.json", "no-such-token", "")
	wantStatus(t, "GET /api/openapi.json with a bad token", withToken, http.StatusOK)
	if got := withToken.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("GET /api/openapi.json with a token: Cache-Control = %q, want no-store", got)
	}

	head := ts.callWith(t, "HEAD", "/api/openapi.json", "")
	wantStatus(t, "HEAD /api/openapi.json", head, http.StatusOK)
	if len(head.body) != 0 || head.header.Get("Content-Length") != res.header.Get("Content-Length") {
		t.Errorf("HEAD /api/openapi.json: %d body bytes, Content-Length %q; want none and %q",
			len(head.body), head.header.Get("Content-Length"), res.header.Get("Content-Length"))
	}
}
