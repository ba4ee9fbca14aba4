package apidocs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Reading an OpenAPI 3.1 document for the docs page: the few parts of it
// the page shows, with every $ref followed, and every object's members in
// the document's order (the order of paths is the order its author chose
// to present the API in; encoding/json's maps would lose it).

// apiDocument is an OpenAPI document kept as raw JSON, so that a $ref can
// name any part of it.
type apiDocument struct {
	root json.RawMessage
}

// member is one name and value of a JSON object.
type member struct {
	name  string
	value json.RawMessage
}

// members returns the members of the JSON object raw, in order. An absent
// value has none.
func members(raw json.RawMessage) ([]member, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("want a JSON object, got %.40s", raw)
	}
	var ms []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, err
		}
		ms = append(ms, member{name: tok.(string), value: value}) // a key is always a string
	}
	return ms, nil
}

// maxRefHops bounds a chain of $refs, so a loop is an error, not a hang.
const maxRefHops = 16

// resolve follows raw's $ref, and the $ref of what that names, to a value
// that is not a reference.
func (d *apiDocument) resolve(raw json.RawMessage) (json.RawMessage, error) {
	for range maxRefHops {
		ref, err := refOf(raw)
		if err != nil || ref == "" {
			return raw, err
		}
		if raw, err = d.lookup(ref); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("$refs more than %d deep: a loop?", maxRefHops)
}

// decode resolves raw and decodes it into dst.
func (d *apiDocument) decode(raw json.RawMessage, dst any) error {
	resolved, err := d.resolve(raw)
	if err != nil {
		return err
	}
	return json.Unmarshal(resolved, dst)
}

// refOf returns the $ref of raw, or "" when raw is not a reference.
func refOf(raw json.RawMessage) (string, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{")) {
		return "", nil
	}
	var ref struct {
		Ref string `json:"$ref"`
	}
	err := json.Unmarshal(raw, &ref)
	return ref.Ref, err
}

// lookup finds what a $ref within the document names: "#" and a JSON
// pointer (RFC 6901), such as #/components/schemas/User.
func (d *apiDocument) lookup(ref string) (json.RawMessage, error) {
	fragment, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, fmt.Errorf("$ref %q: only references within the document are read", ref)
	}
	pointer, err := url.PathUnescape(fragment)
	if err != nil || (pointer != "" && pointer[0] != '/') {
		return nil, fmt.Errorf("$ref %q is not a JSON pointer", ref)
	}
	node := d.root
	if pointer == "" {
		return node, nil
	}
	unescape := strings.NewReplacer("~1", "/", "~0", "~")
	for _, token := range strings.Split(pointer[1:], "/") {
		if node, err = child(node, unescape.Replace(token)); err != nil {
			return nil, fmt.Errorf("$ref %q: %w", ref, err)
		}
	}
	return node, nil
}

// child returns the member name of an object, or the element of an array
// whose index name is.
func child(node json.RawMessage, name string) (json.RawMessage, error) {
	if bytes.HasPrefix(bytes.TrimLeft(node, " \t\r\n"), []byte("[")) {
		var elements []json.RawMessage
		if err := json.Unmarshal(node, &elements); err != nil {
			return nil, err
		}
		if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(elements) {
			return elements[i], nil
		}
		return nil, fmt.Errorf("no element %q", name)
	}
	ms, err := members(node)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.name == name {
			return m.value, nil
		}
	}
	return nil, fmt.Errorf("no member %q", name)
}

// The parts of the document the page shows (OpenAPI 3.1). A json.RawMessage
// is a part that may be a $ref, or whose members' order matters.
type (
	docOperation struct {
		OperationID string `json:"operationId"`
		Summary     string
		Description string
		Deprecated  bool
		Parameters  []json.RawMessage
		RequestBody json.RawMessage
		Responses   json.RawMessage
		// nil: the document's own security applies; empty: none is needed.
		Security *[]map[string][]string
	}
	docParameter struct {
		Name        string
		In          string
		Description string
		Required    bool
		Deprecated  bool
		Schema      json.RawMessage
		Example     json.RawMessage
	}
	docRequestBody struct {
		Description string
		Required    bool
		Content     json.RawMessage
	}
	docMediaType struct {
		Schema   json.RawMessage
		Example  json.RawMessage
		Examples json.RawMessage
	}
	docResponse struct {
		Description string
		Headers     json.RawMessage
		Content     json.RawMessage
	}
	docHeader struct {
		Description string
		Required    bool
		Schema      json.RawMessage
	}
	docSecurityScheme struct {
		Type        string
		Scheme      string
		Description string
		Name        string
		In          string
	}
	docSchema struct {
		Ref              string          `json:"$ref"`
		Type             json.RawMessage // "string", or ["string", "null"]
		Format           string
		Description      string
		Enum             []json.RawMessage
		Const            json.RawMessage
		Default          json.RawMessage
		Minimum          json.RawMessage
		Maximum          json.RawMessage
		ExclusiveMinimum json.RawMessage
		ExclusiveMaximum json.RawMessage
		MinLength        *int
		MaxLength        *int
		Pattern          string
		MinItems         *int
		MaxItems         *int
		Items            json.RawMessage
		Properties       json.RawMessage
		Required         []string
		AllOf            []json.RawMessage
		Example          json.RawMessage
		Examples         []json.RawMessage
	}
)

// maxSchemaDepth bounds how deep schema reads (a $ref within a $ref, an
// allOf within an allOf) and the fields of a body (an object within an
// object) go: a schema may name itself.
const maxSchemaDepth = 8

// schema reads the schema raw, with its $ref followed and its allOf merged
// into one. In 3.1 a schema with a $ref may say more beside it; its
// description wins over the one it refers to.
func (d *apiDocument) schema(raw json.RawMessage, depth int) (docSchema, error) {
	var s docSchema
	if len(raw) == 0 {
		return s, nil
	}
	if depth > maxSchemaDepth {
		return s, errors.New("schemas nested too deep: a loop?")
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, err
	}
	if s.Ref != "" {
		target, err := d.lookup(s.Ref)
		if err != nil {
			return s, err
		}
		referred, err := d.schema(target, depth+1)
		if err != nil {
			return s, err
		}
		if s.Description != "" {
			referred.Description = s.Description
		}
		s = referred
	}
	for _, part := range s.AllOf {
		p, err := d.schema(part, depth+1)
		if err != nil {
			return s, err
		}
		if err := s.merge(p); err != nil {
			return s, err
		}
	}
	s.AllOf = nil
	return s, nil
}

// types returns the schema's types other than null, and whether null is
// one of them.
func (s docSchema) types() (types []string, nullable bool) {
	var list []string
	if json.Unmarshal(s.Type, &list) != nil {
		var one string
		if json.Unmarshal(s.Type, &one) == nil && one != "" {
			list = []string{one}
		}
	}
	for _, t := range list {
		if t == "null" {
			nullable = true
		} else {
			types = append(types, t)
		}
	}
	return types, nullable
}

// example returns the schema's example, from example or the first of
// examples, or nothing.
func (s docSchema) example() json.RawMessage {
	if len(s.Example) > 0 {
		return s.Example
	}
	if len(s.Examples) > 0 {
		return s.Examples[0]
	}
	return nil
}
