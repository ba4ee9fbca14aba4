package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocsPage gets the docs page through the whole handler stack: HTML,
// cached like the document it is made of, and nothing in it a browser
// would fetch or run.
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
	for _, banned := range []string{"<script", "<link", " src=", "<iframe", "@import", "url("} {
		if strings.Contains(page, banned) {
			t.Errorf("GET /docs holds %q: the page must need no script and nothing from elsewhere", banned)
		}
	}
	if !strings.Contains(page, `<meta name="viewport"`) {
		t.Errorf("GET /docs has no viewport meta: phones would show it zoomed out")
	}

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

	head := ts.callWith(t, "HEAD", "/docs", "")
	wantStatus(t, "HEAD /docs", head, http.StatusOK)
	if len(head.body) != 0 || head.header.Get("Content-Length") != res.header.Get("Content-Length") {
		t.Errorf("HEAD /docs = %d bytes, Content-Length %q; want none, %q",
			len(head.body), head.header.Get("Content-Length"), res.header.Get("Content-Length"))
	}
}

// TestDocsShowEveryOperation renders the embedded document and finds each
// of its operations on the page, in a section of its own, with its method,
// its path and a curl command for it. (That the document and routes()
// list the same operations is the OpenAPI test's to check.)
func TestDocsShowEveryOperation(t *testing.T) {
	page, err := renderDocs(openAPIDocument)
	if err != nil {
		t.Fatalf("renderDocs(openapi.json): %v", err)
	}
	var doc struct {
		Servers []struct{ URL string }
		Paths   map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	sections := docsSections(string(page.html))
	for path, item := range doc.Paths {
		for method := range item {
			if !httpMethods[method] {
				continue
			}
			operation := strings.ToUpper(method) + " " + path
			text, ok := sections[operation]
			if !ok {
				t.Errorf("GET /docs has no section for %s", operation)
				continue
			}
			if curl := curlPattern(strings.ToUpper(method), doc.Servers[0].URL, path); !curl.MatchString(text) {
				t.Errorf("GET /docs: the section of %s has no curl command matching %s:\n%s", operation, curl, text)
			}
		}
	}
	if len(sections) == 0 {
		t.Errorf("GET /docs shows no operation")
	}
}

// docsSections returns the text of each endpoint's section of a docs page,
// by the method and path of its heading.
func docsSections(page string) map[string]string {
	sections := map[string]string{}
	tag := regexp.MustCompile(`<[^>]*>`)
	for _, s := range strings.Split(page, `<section class="endpoint"`)[1:] {
		_, s, _ = strings.Cut(s, ">") // the rest of the section's tag
		s, _, _ = strings.Cut(s, "</section>")
		text := html.UnescapeString(tag.ReplaceAllString(s, ""))
		lines := strings.Split(strings.TrimSpace(text), "\n")
		sections[lines[0]] = text
	}
	return sections
}

// curlPattern matches a curl command for method and a path template whose
// parameters are filled in.
func curlPattern(method, base, path string) *regexp.Regexp {
	url := regexp.QuoteMeta(base + path)
	url = regexp.MustCompile(`\\\{[^}]*\\\}`).ReplaceAllString(url, `[^/?' ]+`)
	flag := ""
	if method != "GET" {
		flag = " -X " + method
	}
	return regexp.MustCompile(`(?m)^curl -i` + flag + ` '?` + url + `[?' \n]`)
}

// TestDocsEscapeHTML renders a document that holds markup where text is
// expected: the page shows it as text.
func TestDocsEscapeHTML(t *testing.T) {
	doc := `{"openapi": "3.1.0",
	"info": {"title": "<b>x</b>", "version": "1", "description": "<script>alert(1)</script>"},
	"paths": {"/a": {"get": {"summary": "<img src=x onerror=alert(1)>",
		"description": "a ` + "`<script>`" + ` in code, and </section><script>alert(2)</script>",
		"parameters": [{"name": "q\"><script>", "in": "query", "required": true, "example": "'; rm -rf / #"}],
		"responses": {"200": {"description": "<i>ok</i>",
			"content": {"application/json": {"example": {"html": "</code><script>alert(3)</script>"}}}}}}}}}`
	page, err := renderDocs([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	text := string(page.html)
	for _, raw := range []string{"<script", "<img", "<b>x", "<i>ok"} {
		if strings.Contains(text, raw) {
			t.Errorf("the page holds %q unescaped:\n%s", raw, text)
		}
	}
	for _, escaped := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "<code>&lt;script&gt;</code>", "&lt;img src=x"} {
		if !strings.Contains(text, escaped) {
			t.Errorf("the page does not hold %q", escaped)
		}
	}
	// The example reaches the shell inside single quotes, as a value.
	if want := `curl -i 'http://localhost:5000/a?q%22%3E%3Cscript%3E=%27%3B+rm+-rf+%2F+%23'`; !strings.Contains(html.UnescapeString(text), want) {
		t.Errorf("the page does not hold %s", want)
	}
}

// refsDocument exercises what the page reads of a document: $refs to each
// kind of component, a $ref to a $ref, a JSON pointer with ~1, allOf, a
// property's $ref with a description beside it, and paths out of
// alphabetical order.
const refsDocument = `{
  "openapi": "3.1.0",
  "info": {"title": "fixture", "version": "1"},
  "servers": [{"url": "http://localhost:5000/"}],
  "security": [{"bearerAuth": []}],
  "paths": {
    "/b/{id}": {
      "parameters": [{"$ref": "#/components/parameters/id"}],
      "put": {
        "operationId": "putB",
        "security": [{"bearerAuth": ["write"]}],
        "requestBody": {"$ref": "#/components/requestBodies/Thing"},
        "responses": {"200": {"$ref": "#/components/responses/Done"}, "429": {"$ref": "#/components/responses/Again"}}
      }
    },
    "/a": {
      "post": {
        "security": [{"basicAuth": []}],
        "parameters": [{"$ref": "#/paths/~1a/get/parameters/0"}],
        "responses": {"200": {"description": "Logged in."}}
      },
      "get": {
        "security": [],
        "parameters": [{"name": "q", "in": "query", "required": true, "schema": {"type": "string"}, "example": "it's"}],
        "responses": {"204": {"description": "Nothing."}}
      }
    }
  },
  "components": {
    "securitySchemes": {
      "basicAuth": {"type": "http", "scheme": "basic"},
      "bearerAuth": {"$ref": "#/components/x-shared/bearer"}
    },
    "x-shared": {"bearer": {"type": "http", "scheme": "bearer", "description": "A token."}},
    "parameters": {
      "id": {"$ref": "#/components/parameters/thingID"},
      "thingID": {"name": "id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/ID"}, "example": 7}
    },
    "requestBodies": {
      "Thing": {"required": true, "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/Thing"},
        "examples": {"one": {"$ref": "#/components/examples/Thing"}}}}}
    },
    "examples": {"Thing": {"value": {"title": "it's"}}},
    "responses": {
      "Done": {"description": "Done.", "headers": {"Location": {"$ref": "#/components/headers/Location"}}},
      "Again": {"description": "Again.", "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}}
    },
    "headers": {
      "Location": {"description": "Where it is.", "schema": {"type": "string"}},
      "Retry-After": {"schema": {"type": "integer"}}
    },
    "schemas": {
      "ID": {"type": "integer", "minimum": 1, "maximum": 100},
      "Base": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 100}}},
      "Thing": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {
        "tags": {"type": "array", "items": {"type": "object", "properties": {
          "name": {"$ref": "#/components/schemas/Base/properties/title", "description": "A tag."}}}},
        "state": {"type": ["string", "null"], "enum": ["on", "off", null]}}}]}
    }
  }
}`

// TestDocsResolveRefs reads refsDocument and checks what the page would
// show of it, $refs followed.
func TestDocsResolveRefs(t *testing.T) {
	v, err := buildDocsView([]byte(refsDocument))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, e := range v.Endpoints {
		order = append(order, e.Method+" "+e.Path)
	}
	if want := []string{"PUT /b/{id}", "POST /a", "GET /a"}; !slices.Equal(order, want) {
		t.Fatalf("endpoints = %q, want the document's order %q", order, want)
	}
	put, post, get := v.Endpoints[0], v.Endpoints[1], v.Endpoints[2]

	wantJSON(t, "schemes", v.Schemes, []schemeView{{Name: "Basic"}, {Name: "Bearer", Description: paragraphs("A token.")}})
	for _, c := range []struct {
		e     endpointView
		auth  string
		scope []string
	}{{put, "Bearer", []string{"write"}}, {post, "Basic", nil}, {get, "None", nil}} {
		if c.e.Auth != c.auth || !slices.Equal(c.e.Scopes, c.scope) {
			t.Errorf("%s %s: auth %q %q, want %q %q", c.e.Method, c.e.Path, c.e.Auth, c.e.Scopes, c.auth, c.scope)
		}
	}
	wantJSON(t, "PUT /b/{id} parameters", put.Parameters, []fieldView{
		{Name: "id", In: "path", Type: "integer", Required: true, Rules: []string{"from 1 to 100"}}})
	wantJSON(t, "POST /a parameters (a $ref into paths)", post.Parameters, get.Parameters)
	if put.Body == nil {
		t.Fatal("PUT /b/{id} has no body")
	}
	wantJSON(t, "PUT /b/{id} body fields", put.Body.Fields, []fieldView{
		{Name: "title", Type: "string", Required: true, Rules: []string{"1 to 100 characters"}},
		{Name: "tags", Type: "array of object"},
		{Name: "tags[].name", Type: "string", Rules: []string{"1 to 100 characters"}, Description: paragraphs("A tag.")},
		{Name: "state", Type: "string or null", Rules: []string{`one of "on", "off", null`}},
	})
	wantJSON(t, "PUT /b/{id} responses", put.Responses, []responseView{
		{Status: "200", Class: "s2", Description: paragraphs("Done."),
			Headers: []fieldView{{Name: "Location", Type: "string", Description: paragraphs("Where it is.")}}},
		{Status: "429", Class: "s4", Description: paragraphs("Again."),
			Headers: []fieldView{{Name: "Retry-After", Type: "integer"}}},
	})

	for _, c := range []struct {
		e    endpointView
		curl string
	}{
		{put, `curl -i -X PUT http://localhost:5000/b/7 \
  -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' \
  -d '{"title":"it'\''s"}'`},
		{post, `curl -i -X POST 'http://localhost:5000/a?q=it%27s' \
  -u user:pass`},
		{get, `curl -i 'http://localhost:5000/a?q=it%27s'`},
	} {
		if c.e.Curl != c.curl {
			t.Errorf("%s %s: curl\n%s\nwant\n%s", c.e.Method, c.e.Path, c.e.Curl, c.curl)
		}
	}
}

// TestDocsRefuseBrokenDocuments: a document the page cannot read is an
// error from renderDocs, which TestDocsShowEveryOperation would report for
// the embedded one, not a page with holes.
func TestDocsRefuseBrokenDocuments(t *testing.T) {
	withParameter := func(parameter string) string {
		return `{"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/a": {"get": {
			"parameters": [` + parameter + `], "responses": {"200": {"description": "ok"}}}}},
			"components": {"parameters": {"a": {"$ref": "#/components/parameters/b"}, "b": {"$ref": "#/components/parameters/a"}}}}`
	}
	for _, c := range []struct {
		name, doc, want string
	}{
		{"not JSON", `{"openapi": `, "unexpected end"},
		{"paths not an object", `{"paths": []}`, "paths"},
		{"a $ref to nothing", withParameter(`{"$ref": "#/components/parameters/nope"}`), `no member "nope"`},
		{"a loop of $refs", withParameter(`{"$ref": "#/components/parameters/a"}`), "loop"},
		{"a $ref to another file", withParameter(`{"$ref": "other.json#/a"}`), "only references within the document"},
		{"a schema that names itself", withParameter(`{"name": "q", "in": "query", "schema": {"$ref": "#/paths/~1a/get/parameters/0/schema"}}`), "too deep"},
	} {
		_, err := renderDocs([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: renderDocs error = %v, want one that says %q", c.name, err, c.want)
		}
	}
}

// TestDescriptionLists shows a paragraph whose lines all start with "- "
// as a list, and any other paragraph as text, code spans kept.
func TestDescriptionLists(t *testing.T) {
	got := paragraphs("Any path answers:\n\n- 404 `Not Found`;\n- 405 with `Allow`.\n\n- one line\nand its continuation")
	want := []block{
		{Text: paragraph{{Text: "Any path answers:"}}},
		{Items: []paragraph{
			{{Text: "404 "}, {Text: "Not Found", Code: true}, {Text: ";"}},
			{{Text: "405 with "}, {Text: "Allow", Code: true}, {Text: "."}},
		}},
		{Text: paragraph{{Text: "- one line\nand its continuation"}}},
	}
	wantJSON(t, "blocks", got, want)
}
