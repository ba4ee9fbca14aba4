package main

import (
	_ "embed"
	"net/http"
	"strconv"
)

// openAPIDocument describes every route of routes() to the tools people
// use: Postman imports it, client generators read it, /docs renders it.
// It is written by hand, and a test keeps it and routes() the same list.
//
//go:embed openapi.json
var openAPIDocument []byte

// handleOpenAPI serves the document. It is the same for everyone and
// changes only with a new binary, so caches may keep it for a while.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("Content-Length", strconv.Itoa(len(openAPIDocument)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(openAPIDocument)
	}
}
