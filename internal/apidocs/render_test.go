package apidocs

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"os"
	"regexp"
	"strings"
	"testing"
)

// renderOpenAPIJSON renders tokenapi's own document, read from the module
// root rather than copied, so the page these tests check is the one the
// service serves.
func renderOpenAPIJSON(t *testing.T) (document []byte, page Page) {
	t.Helper()
	document, err := os.ReadFile("../../openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if page, err = Render(document); err != nil {
		t.Fatalf("Render(openapi.json): %v", err)
	}
	return document, page
}

// TestRenderNeedsNothingElse: the page needs no script and nothing from
// elsewhere, and its policy allows the style it really holds, by its hash.
func TestRenderNeedsNothingElse(t *testing.T) {
	_, page := renderOpenAPIJSON(t)
	text := string(page.HTML)
	for _, banned := range []string{"<script", "<link", " src=", "<iframe", "@import", "url("} {
		if strings.Contains(text, banned) {
			t.Errorf("the page holds %q: it must need no script and nothing from elsewhere", banned)
		}
	}
	if !strings.Contains(text, `<meta name="viewport"`) {
		t.Errorf("the page has no viewport meta: phones would show it zoomed out")
	}
	style := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(text)
	if style == nil {
		t.Fatal("the page has no <style>")
	}
	sum := sha256.Sum256([]byte(style[1]))
	wantSource := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	for _, want := range []string{"default-src 'none'", wantSource, "frame-ancestors 'none'"} {
		if !strings.Contains(page.CSP, want) {
			t.Errorf("CSP = %q, want it to hold %q", page.CSP, want)
		}
	}
}

// TestRenderEveryOperation renders tokenapi's openapi.json and finds each
// of its operations on the page, in a section of its own, with its method,
// its path and a curl command for it. (That the document and routes()
// list the same operations is the service's tests' to check.)
func TestRenderEveryOperation(t *testing.T) {
	document, page := renderOpenAPIJSON(t)
	var doc struct {
		Servers []struct{ URL string }
		Paths   map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(document, &doc); err != nil {
		t.Fatal(err)
	}
	sections := docsSections(string(page.HTML))
	for path, item := range doc.Paths {
		for method := range item {
			if !httpMethods[method] {
				continue
			}
			operation := strings.ToUpper(method) + " " + path
			text, ok := sections[operation]
			if !ok {
				t.Errorf("the page has no section for %s", operation)
				continue
			}
			if curl := curlPattern(strings.ToUpper(method), doc.Servers[0].URL, path); !curl.MatchString(text) {
				t.Errorf("the section of %s has no curl command matching %s:\n%s", operation, curl, text)
			}
		}
	}
	if len(sections) == 0 {
		t.Errorf("the page shows no operation")
	}
}

// docsSections returns the text of each endpoint's section of a page,
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

// TestRenderEscapesHTML renders a document that holds markup where text is
// expected: the page shows it as text.
func TestRenderEscapesHTML(t *testing.T) {
	doc := `{"openapi": "3.1.0",
	"info": {"title": "<b>x</b>", "version": "1", "description": "<script>alert(1)</script>"},
	"paths": {"/a": {"get": {"summary": "<img src=x onerror=alert(1)>",
		"description": "a ` + "`<script>`" + ` in code, and </section><script>alert(2)</script>",
		"parameters": [{"name": "q\"><script>", "in": "query", "required": true, "example": "'; rm -rf / #"}],
		"responses": {"200": {"description": "<i>ok</i>",
			"content": {"application/json": {"example": {"html": "</code><script>alert(3)</script>"}}}}}}}}}`
	page, err := Render([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	text := string(page.HTML)
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

// TestRenderRefusesBrokenDocuments: a document the page cannot read is an
// error from Render, which TestRenderEveryOperation would report for
// tokenapi's, not a page with holes.
func TestRenderRefusesBrokenDocuments(t *testing.T) {
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
		_, err := Render([]byte(c.doc))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Render error = %v, want one that says %q", c.name, err, c.want)
		}
	}
}

// TestRenderDescribesEveryAnswer: on tokenapi's page, every response
// whose body is a JSON object lists the body's fields, and each field has
// a type and a description (what it means and, for a nullable one, when
// it is null), so a reader need not guess from an example.
func TestRenderDescribesEveryAnswer(t *testing.T) {
	document, _ := renderOpenAPIJSON(t)
	view, err := buildDocsView(document)
	if err != nil {
		t.Fatal(err)
	}
	described := 0
	for _, e := range view.Endpoints {
		for _, r := range e.Responses {
			if strings.HasPrefix(r.Example, "{") && len(r.Fields) == 0 {
				t.Errorf("%s %s %s: a JSON body and no fields listed", e.Method, e.Path, r.Status)
			}
			for _, f := range r.Fields {
				if f.Type == "" || len(f.Description) == 0 {
					t.Errorf("%s %s %s: field %s has type %q and no description", e.Method, e.Path, r.Status, f.Name, f.Type)
				}
				if strings.HasSuffix(f.Type, " or null") && !strings.Contains(strings.ToLower(spansText(f.Description)), "null") {
					t.Errorf("%s %s %s: field %s may be null and its description does not say when", e.Method, e.Path, r.Status, f.Name)
				}
			}
			if len(r.Fields) > 0 {
				described++
			}
		}
	}
	if described == 0 {
		t.Error("the page describes no response body")
	}
}

// spansText is the plain text of a description.
func spansText(blocks []block) string {
	var b strings.Builder
	for _, bl := range blocks {
		for _, s := range bl.Text {
			b.WriteString(s.Text)
		}
		for _, item := range bl.Items {
			for _, s := range item {
				b.WriteString(s.Text)
			}
		}
	}
	return b.String()
}
