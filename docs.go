package main

import (
	"net/http"
	"sync"

	"tokenapi/internal/apidocs"
)

// GET /docs: the API reference as one HTML page, rendered on the server
// from the same OpenAPI document as /api/openapi.json (internal/apidocs
// renders it), so the two cannot disagree. No script, nothing fetched from
// elsewhere: it reads the same in any browser, and offline.

// docsPage renders the embedded document on first use and keeps the page:
// it changes only with the binary. apidocs's tests render the same file,
// so a document the page cannot read fails the build, not a request.
var docsPage = sync.OnceValues(func() (apidocs.Page, error) { return apidocs.Render(openAPIDocument) })

// handleDocs serves the docs page, with the Content-Security-Policy made
// for it.
func (s *server) handleDocs(w http.ResponseWriter, r *http.Request) {
	page, err := docsPage()
	if err != nil {
		s.handleError(w, r, err)
		return
	}
	w.Header().Set("Content-Security-Policy", page.CSP)
	writeStatic(w, r, "text/html; charset=utf-8", page.HTML)
}
