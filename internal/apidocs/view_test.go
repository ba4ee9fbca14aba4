package apidocs

import (
	"encoding/json"
	"slices"
	"testing"
)

// refsDocument exercises what the page reads of a document: $refs to each
// kind of component, a $ref to a $ref, a JSON pointer with ~1, allOf, a
// property's $ref with a description beside it, an allOf part that
// narrows a property, and paths out of alphabetical order.
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
      "Again": {"description": "Again.", "headers": {"Retry-After": {"$ref": "#/components/headers/Retry-After"}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Slow"},
          "examples": {"slow": {"summary": "Too slow", "value": {"error": "Slow"}}, "later": {"value": {"error": "Slow", "wait": 3}}}}}}
    },
    "headers": {
      "Location": {"description": "Where it is.", "schema": {"type": "string"}},
      "Retry-After": {"schema": {"type": "integer"}}
    },
    "schemas": {
      "ID": {"type": "integer", "minimum": 1, "maximum": 100},
      "Err": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string", "description": "The status text."},
        "wait": {"type": ["integer", "null"], "description": "Null when unknown."}}},
      "Slow": {"allOf": [{"$ref": "#/components/schemas/Err"}, {"properties": {"error": {"type": "string", "const": "Slow", "description": "Always Slow."}}}]},
      "Base": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "minLength": 1, "maxLength": 100}}},
      "Thing": {"allOf": [{"$ref": "#/components/schemas/Base"}, {"properties": {
        "tags": {"type": "array", "items": {"type": "object", "properties": {
          "name": {"$ref": "#/components/schemas/Base/properties/title", "description": "A tag."}}}},
        "state": {"type": ["string", "null"], "enum": ["on", "off", null]}}}]}
    }
  }
}`

// TestResolveRefs reads refsDocument and checks what the page would show
// of it, $refs followed.
func TestResolveRefs(t *testing.T) {
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
			Headers: []fieldView{{Name: "Retry-After", Type: "integer"}},
			// The body's fields, once each: the allOf's narrowed error
			// in the place of the one it narrows.
			Fields: []fieldView{
				{Name: "error", Type: "string", Required: true, Rules: []string{`always "Slow"`}, Description: paragraphs("Always Slow.")},
				{Name: "wait", Type: "integer or null", Description: paragraphs("Null when unknown.")},
			},
			// More than one example: each, with its summary or its name.
			Example: "{\n  \"error\": \"Slow\"\n}",
			Examples: []namedExample{
				{Summary: "Too slow", Body: "{\n  \"error\": \"Slow\"\n}"},
				{Summary: "later", Body: "{\n  \"error\": \"Slow\",\n  \"wait\": 3\n}"},
			}},
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

// wantJSON fails unless got and want are the same JSON.
func wantJSON(t *testing.T, what string, got, want any) {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	w, err := json.Marshal(want)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if string(g) != string(w) {
		t.Errorf("%s:\n got %s\nwant %s", what, g, w)
	}
}
