package main

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"sync"
)

// GET /docs: the API reference as one HTML page, rendered on the server
// from the same OpenAPI document as /api/openapi.json (docspage.go works
// out what it shows), so the two cannot disagree. No script, nothing
// fetched from elsewhere: it reads the same in any browser, and offline.

var (
	//go:embed docs.html
	docsTemplateText string
	//go:embed docs.css
	docsCSS string

	docsTemplate = template.Must(template.New("docs").
			Funcs(template.FuncMap{"lower": strings.ToLower, "spans": spans}).Parse(docsTemplateText))
)

// renderedDocs is the docs page and the Content-Security-Policy it is
// served with.
type renderedDocs struct {
	html []byte
	csp  string
}

// docsPage renders the embedded document on first use and keeps the page:
// it changes only with the binary. A test renders the same document, so a
// document the page cannot read fails the build, not a request.
var docsPage = sync.OnceValues(func() (renderedDocs, error) { return renderDocs(openAPIDocument) })

// renderDocs renders the docs page of an OpenAPI document.
func renderDocs(document []byte) (renderedDocs, error) {
	view, err := buildDocsView(document)
	if err != nil {
		return renderedDocs{}, fmt.Errorf("reading the OpenAPI document: %w", err)
	}
	var page bytes.Buffer
	err = docsTemplate.Execute(&page, struct {
		docsView
		CSS template.CSS
	}{view, template.CSS(docsCSS)})
	if err != nil {
		return renderedDocs{}, err
	}
	// The page's own policy is stricter than the one every response gets:
	// nothing may load, and only this style applies, so even a description
	// that slipped past escaping could run no script.
	sum := sha256.Sum256([]byte(docsCSS))
	csp := "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return renderedDocs{html: page.Bytes(), csp: csp}, nil
}

// handleDocs serves the docs page.
func (s *server) handleDocs(w http.ResponseWriter, r *http.Request) {
	page, err := docsPage()
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	w.Header().Set("Content-Security-Policy", page.csp)
	writeStatic(w, r, "text/html; charset=utf-8", page.html)
}
