package main

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route of routes() to the tools people
// use: Postman imports it, client generators read it, /docs renders it.
// It is written by hand, and a test keeps it and routes() the same list.
//
//go:embed openapi.json
var openAPIDocument []byte

// handleOpenAPI serves the document.
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	writeStatic(w, r, "application/json", openAPIDocument)
}
