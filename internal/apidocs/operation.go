package apidocs

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// One operation as the page shows it: who may call it, what it takes (its
// parameters and body, each field with its limits) and what it answers.

// endpoint reads the operation raw, method on path: pathParams are its path
// item's, docSecurity the document's, each a default the operation may
// override.
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

// requestBody reads an operation's body: its content type, its fields and
// an example, compacted onto one line for curl's -d.
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

// response reads one answer of an operation, with its headers, the fields
// of its body and an example of it, indented.
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
	if v.Fields, err = d.fields("", s, 0); err != nil {
		return v, err
	}
	example, err := d.mediaExample(mt, s)
	if err != nil {
		return v, err
	}
	v.Example = indented(example)
	v.Examples, err = d.namedExamples(mt)
	return v, err
}

// namedExamples are the content's examples, each with its summary (its
// name when it has none), when there is more than one.
func (d *apiDocument) namedExamples(mt docMediaType) ([]namedExample, error) {
	examples, err := members(mt.Examples)
	if err != nil || len(examples) < 2 {
		return nil, err
	}
	var named []namedExample
	for _, e := range examples {
		var ex struct {
			Summary string
			Value   json.RawMessage
		}
		if err := d.decode(e.value, &ex); err != nil {
			return nil, fmt.Errorf("example %s: %w", e.name, err)
		}
		if ex.Summary == "" {
			ex.Summary = e.name
		}
		named = append(named, namedExample{Summary: ex.Summary, Body: indented(ex.Value)})
	}
	return named, nil
}

// indented is a JSON example laid out for reading, or "" for none.
func indented(example json.RawMessage) string {
	var b bytes.Buffer
	if len(example) == 0 || json.Indent(&b, example, "", "  ") != nil {
		return ""
	}
	return b.String()
}
