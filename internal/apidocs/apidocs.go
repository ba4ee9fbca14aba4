// Package apidocs renders an OpenAPI 3.1 document as one HTML page, the
// reference a person reads: every operation in the document's order, with
// its auth, its parameters and body fields and their limits, a curl
// command to paste, and each response it can give. The page runs no
// script and loads nothing from elsewhere; its one style is inline, and
// the Content-Security-Policy Render returns with it allows only that.
//
// Render is the whole API. Read on in this order: read.go reads the
// document (members in order, every $ref followed), view.go and
// operation.go work out what the page shows, text.go says it in words
// (types, limits, curl commands, descriptions), and page.html and page.css
// lay it out.
//
// The page is tokenapi's: it links to the document at /api/openapi.json,
// and its curl commands write credentials as user:pass and $TOKEN.
package apidocs

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
)

var (
	//go:embed page.html
	pageTemplateText string
	//go:embed page.css
	pageCSS string

	pageTemplate = template.Must(template.New("page").
			Funcs(template.FuncMap{"lower": strings.ToLower, "spans": spans}).Parse(pageTemplateText))
)

// Page is a rendered reference page.
type Page struct {
	HTML []byte
	// CSP is the Content-Security-Policy to serve HTML with. It is
	// stricter than most pages need: nothing may load, and only the page's
	// own style applies, so even a description that slipped past escaping
	// could run no script.
	CSP string
}

// Render renders the reference page of an OpenAPI 3.1 document. A document
// it cannot read (not JSON, a $ref to nothing or to another file, a loop
// of $refs) is an error, not a page with holes.
func Render(openapiJSON []byte) (Page, error) {
	view, err := buildDocsView(openapiJSON)
	if err != nil {
		return Page{}, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	var page bytes.Buffer
	err = pageTemplate.Execute(&page, struct {
		docsView
		CSS template.CSS
	}{view, template.CSS(pageCSS)})
	if err != nil {
		return Page{}, err
	}
	sum := sha256.Sum256([]byte(pageCSS))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return Page{HTML: page.Bytes(), CSP: csp}, nil
}
