package apidocs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// What the page shows of the OpenAPI document, worked out from it before
// page.html lays it out: every operation in the document's order, with
// its auth, parameters, body, a curl command and its responses.

type docsView struct {
	Title       string
	Version     string
	Description []block
	BaseURL     string
	Schemes     []schemeView
	Endpoints   []endpointView
}

type schemeView struct {
	Name        string // as a reader knows it: Basic, Bearer
	Description []block
}

type endpointView struct {
	ID          string // the anchor the contents link to
	Method      string
	Path        string
	Summary     string
	Description []block
	Deprecated  bool
	Auth        string   // "None", "Basic", "Bearer", or alternatives
	Scopes      []string // what the session must be allowed, such as write
	Parameters  []fieldView
	Body        *bodyView
	Curl        string
	Responses   []responseView
}

// fieldView is a parameter, a field of a body or a header of a response.
type fieldView struct {
	Name        string
	In          string // for a parameter: path, query, header
	Type        string
	Required    bool
	Rules       []string
	Description []block
}

type bodyView struct {
	ContentType string
	Required    bool
	Description []block
	Fields      []fieldView
	Example     string
}

type responseView struct {
	Status      string
	Class       string // s2, s3, s4, s5: its colour
	Description []block
	Headers     []fieldView
	Example     string
}

// defaultBaseURL is where the curl commands send their requests when the
// document names no server: the address tokenapi listens on by default.
const defaultBaseURL = "http://localhost:5000"

// httpMethods are the members of a path item that are operations.
var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true,
	"options": true, "head": true, "patch": true, "trace": true}

// buildDocsView reads the document into what the page shows.
func buildDocsView(document []byte) (docsView, error) {
	d := &apiDocument{root: document}
	var top struct {
		Info struct {
			Title       string
			Version     string
			Description string
		}
		Servers    []struct{ URL string }
		Security   []map[string][]string
		Paths      json.RawMessage
		Components struct {
			SecuritySchemes json.RawMessage `json:"securitySchemes"`
		}
	}
	if err := json.Unmarshal(document, &top); err != nil {
		return docsView{}, err
	}
	v := docsView{Title: top.Info.Title, Version: top.Info.Version,
		Description: paragraphs(top.Info.Description), BaseURL: defaultBaseURL}
	if len(top.Servers) > 0 && top.Servers[0].URL != "" {
		v.BaseURL = strings.TrimSuffix(top.Servers[0].URL, "/")
	}
	schemes, err := members(top.Components.SecuritySchemes)
	if err != nil {
		return v, fmt.Errorf("components.securitySchemes: %w", err)
	}
	names := map[string]string{} // a scheme's key: what a reader knows it as
	for _, m := range schemes {
		var s docSecurityScheme
		if err := d.decode(m.value, &s); err != nil {
			return v, fmt.Errorf("security scheme %s: %w", m.name, err)
		}
		names[m.name] = schemeName(m.name, s)
		v.Schemes = append(v.Schemes, schemeView{Name: names[m.name], Description: paragraphs(s.Description)})
	}
	paths, err := members(top.Paths)
	if err != nil {
		return v, fmt.Errorf("paths: %w", err)
	}
	for _, p := range paths {
		var item struct{ Parameters []json.RawMessage }
		if err := d.decode(p.value, &item); err != nil {
			return v, fmt.Errorf("%s: %w", p.name, err)
		}
		resolved, _ := d.resolve(p.value) // decode above resolved it
		ops, err := members(resolved)
		if err != nil {
			return v, fmt.Errorf("%s: %w", p.name, err)
		}
		for _, op := range ops {
			if !httpMethods[op.name] {
				continue
			}
			e, err := d.endpoint(strings.ToUpper(op.name), p.name, op.value, item.Parameters, top.Security, names, v.BaseURL)
			if err != nil {
				return v, fmt.Errorf("%s %s: %w", strings.ToUpper(op.name), p.name, err)
			}
			v.Endpoints = append(v.Endpoints, e)
		}
	}
	return v, nil
}

// schemeName is how the page names a security scheme.
func schemeName(key string, s docSecurityScheme) string {
	switch {
	case s.Type == "http" && strings.EqualFold(s.Scheme, "basic"):
		return "Basic"
	case s.Type == "http" && strings.EqualFold(s.Scheme, "bearer"):
		return "Bearer"
	case s.Type == "apiKey":
		return "API key (" + s.In + " " + s.Name + ")"
	}
	return key
}

func (d *apiDocument) endpoint(method, path string, raw json.RawMessage, pathParams []json.RawMessage,
	docSecurity []map[string][]string, schemeNames map[string]string, baseURL string) (endpointView, error) {
	var op docOperation
	if err := d.decode(raw, &op); err != nil {
		return endpointView{}, err
	}
	id := op.OperationID
	if id == "" {
		id = method + " " + path
	}
	e := endpointView{ID: "op-" + slug(id), Method: method, Path: path, Summary: op.Summary,
		Description: paragraphs(op.Description), Deprecated: op.Deprecated}

	security := docSecurity
	if op.Security != nil {
		security = *op.Security
	}
	e.Auth, e.Scopes = authOf(security, schemeNames)

	params, examples, err := d.parameters(pathParams, op.Parameters)
	if err != nil {
		return e, err
	}
	e.Parameters = params
	if len(op.RequestBody) > 0 {
		if e.Body, err = d.requestBody(op.RequestBody); err != nil {
			return e, fmt.Errorf("requestBody: %w", err)
		}
	}
	e.Curl = curlCommand(method, baseURL+fillPath(path, examples), e.Auth, e.Body)

	responses, err := members(op.Responses)
	if err != nil {
		return e, fmt.Errorf("responses: %w", err)
	}
	for _, r := range responses {
		rv, err := d.response(r.name, r.value)
		if err != nil {
			return e, fmt.Errorf("response %s: %w", r.name, err)
		}
		e.Responses = append(e.Responses, rv)
	}
	return e, nil
}

// authOf names the schemes that security accepts, "None" when one of its
// alternatives is none, and the scopes the first alternative asks for.
func authOf(security []map[string][]string, schemeNames map[string]string) (string, []string) {
	var alternatives []string
	var scopes []string
	for i, requirement := range security {
		if len(requirement) == 0 {
			return "None", nil
		}
		var all []string
		for _, key := range slices.Sorted(maps.Keys(requirement)) {
			name := schemeNames[key]
			if name == "" {
				name = key
			}
			all = append(all, name)
			if i == 0 {
				scopes = append(scopes, requirement[key]...)
			}
		}
		alternatives = append(alternatives, strings.Join(all, " and "))
	}
	if len(alternatives) == 0 {
		return "None", nil
	}
	return strings.Join(alternatives, " or "), scopes
}

// parameters reads the path item's parameters and the operation's, which
// win over a path item's of the same name and place. It returns them, and
// an example value of each path and required query parameter, for curl.
func (d *apiDocument) parameters(pathItem, operation []json.RawMessage) ([]fieldView, map[string]string, error) {
	var params []docParameter
	for _, raw := range append(pathItem, operation...) {
		var p docParameter
		if err := d.decode(raw, &p); err != nil {
			return nil, nil, fmt.Errorf("parameter: %w", err)
		}
		for i := range params {
			if params[i].Name == p.Name && params[i].In == p.In {
				params = append(params[:i], params[i+1:]...)
				break
			}
		}
		params = append(params, p)
	}
	var views []fieldView
	examples := map[string]string{}
	for _, p := range params {
		s, err := d.schema(p.Schema, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		views = append(views, fieldView{Name: p.Name, In: p.In, Type: typeOf(s), Required: p.Required || p.In == "path",
			Rules: rulesOf(s), Description: paragraphs(p.Description)})
		if p.In == "path" || (p.In == "query" && p.Required) {
			examples[p.In+":"+p.Name] = exampleValue(p.Example, s)
		}
	}
	return views, examples, nil
}

func (d *apiDocument) requestBody(raw json.RawMessage) (*bodyView, error) {
	var rb docRequestBody
	if err := d.decode(raw, &rb); err != nil {
		return nil, err
	}
	contentType, mt, err := d.mediaType(rb.Content)
	if err != nil {
		return nil, err
	}
	b := &bodyView{ContentType: contentType, Required: rb.Required, Description: paragraphs(rb.Description)}
	s, err := d.schema(mt.Schema, 0)
	if err != nil {
		return nil, err
	}
	if b.Fields, err = d.fields("", s, 0); err != nil {
		return nil, err
	}
	example, err := d.mediaExample(mt, s)
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if len(example) > 0 && json.Compact(&compact, example) == nil {
		b.Example = compact.String()
	}
	return b, nil
}

// mediaType picks the content the page shows: JSON when there is some,
// else the first.
func (d *apiDocument) mediaType(content json.RawMessage) (string, docMediaType, error) {
	var mt docMediaType
	types, err := members(content)
	if err != nil || len(types) == 0 {
		return "", mt, err
	}
	chosen := types[0]
	for _, t := range types {
		if t.name == "application/json" {
			chosen = t
			break
		}
	}
	return chosen.name, mt, d.decode(chosen.value, &mt)
}

// mediaExample is the content's example, or the first of its examples,
// or its schema's.
func (d *apiDocument) mediaExample(mt docMediaType, s docSchema) (json.RawMessage, error) {
	if len(mt.Example) > 0 {
		return mt.Example, nil
	}
	examples, err := members(mt.Examples)
	if err != nil {
		return nil, err
	}
	if len(examples) > 0 {
		var ex struct{ Value json.RawMessage }
		if err := d.decode(examples[0].value, &ex); err != nil {
			return nil, err
		}
		return ex.Value, nil
	}
	return s.example(), nil
}

// fields lists the properties of an object schema, and those of the
// objects within it as parent.child (parent[].child within an array).
func (d *apiDocument) fields(prefix string, s docSchema, depth int) ([]fieldView, error) {
	properties, err := members(s.Properties)
	if err != nil || depth > maxSchemaDepth {
		return nil, err
	}
	var views []fieldView
	for _, p := range properties {
		ps, err := d.schema(p.value, depth+1)
		if err != nil {
			return nil, fmt.Errorf("property %s: %w", p.name, err)
		}
		name := prefix + p.name
		views = append(views, fieldView{Name: name, Type: typeOf(ps), Required: slices.Contains(s.Required, p.name),
			Rules: rulesOf(ps), Description: paragraphs(ps.Description)})
		inner, innerPrefix := ps, name+"."
		if types, _ := ps.types(); len(types) == 1 && types[0] == "array" {
			if inner, err = d.schema(ps.Items, depth+1); err != nil {
				return nil, fmt.Errorf("property %s: %w", p.name, err)
			}
			innerPrefix = name + "[]."
		}
		nested, err := d.fields(innerPrefix, inner, depth+1)
		if err != nil {
			return nil, err
		}
		views = append(views, nested...)
	}
	return views, nil
}

func (d *apiDocument) response(status string, raw json.RawMessage) (responseView, error) {
	var r docResponse
	if err := d.decode(raw, &r); err != nil {
		return responseView{}, err
	}
	v := responseView{Status: status, Class: "s" + status[:1], Description: paragraphs(r.Description)}
	headers, err := members(r.Headers)
	if err != nil {
		return v, err
	}
	for _, h := range headers {
		if strings.EqualFold(h.name, "Content-Type") {
			continue // OpenAPI ignores it: the content says it
		}
		var dh docHeader
		if err := d.decode(h.value, &dh); err != nil {
			return v, fmt.Errorf("header %s: %w", h.name, err)
		}
		s, err := d.schema(dh.Schema, 0)
		if err != nil {
			return v, fmt.Errorf("header %s: %w", h.name, err)
		}
		v.Headers = append(v.Headers, fieldView{Name: h.name, Type: typeOf(s), Required: dh.Required,
			Description: paragraphs(dh.Description)})
	}
	_, mt, err := d.mediaType(r.Content)
	if err != nil {
		return v, err
	}
	s, err := d.schema(mt.Schema, 0)
	if err != nil {
		return v, err
	}
	example, err := d.mediaExample(mt, s)
	if err != nil {
		return v, err
	}
	var indented bytes.Buffer
	if len(example) > 0 && json.Indent(&indented, example, "", "  ") == nil {
		v.Example = indented.String()
	}
	return v, nil
}
