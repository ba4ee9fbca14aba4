package apidocs

import (
	"encoding/json"
	"fmt"
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
	Fields      []fieldView // of the body: Required means always there
	Example     string
	// Examples are the content's named examples, each with its summary,
	// when it has more than one (an operation's 400, one per cause).
	Examples []namedExample
}

type namedExample struct {
	Summary string
	Body    string
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
	schemes, names, err := d.securitySchemes(top.Components.SecuritySchemes)
	if err != nil {
		return v, fmt.Errorf("components.securitySchemes: %w", err)
	}
	v.Schemes = schemes
	v.Endpoints, err = d.endpoints(top.Paths, top.Security, names, v.BaseURL)
	return v, err
}

// securitySchemes reads the document's security schemes, and returns with
// them what a reader knows each as, by its key.
func (d *apiDocument) securitySchemes(raw json.RawMessage) ([]schemeView, map[string]string, error) {
	schemes, err := members(raw)
	if err != nil {
		return nil, nil, err
	}
	var views []schemeView
	names := map[string]string{}
	for _, m := range schemes {
		var s docSecurityScheme
		if err := d.decode(m.value, &s); err != nil {
			return nil, nil, fmt.Errorf("security scheme %s: %w", m.name, err)
		}
		names[m.name] = schemeName(m.name, s)
		views = append(views, schemeView{Name: names[m.name], Description: paragraphs(s.Description)})
	}
	return views, names, nil
}

// endpoints reads every operation of the document's paths, in its order.
// security is the document's own, which an operation may override.
func (d *apiDocument) endpoints(rawPaths json.RawMessage, security []map[string][]string,
	schemeNames map[string]string, baseURL string) ([]endpointView, error) {
	paths, err := members(rawPaths)
	if err != nil {
		return nil, fmt.Errorf("paths: %w", err)
	}
	var endpoints []endpointView
	for _, p := range paths {
		var item struct{ Parameters []json.RawMessage }
		if err := d.decode(p.value, &item); err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		resolved, _ := d.resolve(p.value) // decode above resolved it
		ops, err := members(resolved)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		for _, op := range ops {
			if !httpMethods[op.name] {
				continue
			}
			method := strings.ToUpper(op.name)
			e, err := d.endpoint(method, p.name, op.value, item.Parameters, security, schemeNames, baseURL)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", method, p.name, err)
			}
			endpoints = append(endpoints, e)
		}
	}
	return endpoints, nil
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
