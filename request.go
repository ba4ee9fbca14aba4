package main

// Reading a request: its JSON body, its page, per_page and after, its {id}. Each
// answers a bad request itself, with a message that names what to fix, and
// returns false.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The caps on a request body. A post's text may be long; every other body
// (a sign-up, a change to an account, a login's session name) is short, so
// it is held to far less.
const (
	maxBodyBytes     = 64 << 10 // any body but a post's
	maxPostBodyBytes = 1 << 20  // a post
)

const (
	defaultPerPage = 10
	maxPerPage     = 100
)

// readJSON reads a body of at most maxBodyBytes; see readJSONUpTo.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	return readJSONUpTo(w, r, dst, maxBodyBytes)
}

// readPostJSON reads a post's body, of at most maxPostBodyBytes; see
// readJSONUpTo.
func readPostJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	return readJSONUpTo(w, r, dst, maxPostBodyBytes)
}

// readJSONUpTo is the one reader of request bodies. It decodes a single JSON
// object of at most limit bytes into dst, ignoring unknown fields. When the
// body is not that, it answers the client itself (415, 413 or 400, naming
// the field at fault) and returns false. A body over the limit is refused
// once limit+1 bytes have come, however many more the client means to send.
func readJSONUpTo(w http.ResponseWriter, r *http.Request, dst any, limit int64) bool {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" ||
		(params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
			writeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("request body must not be larger than %d bytes", limit))
			return false
		}
		badRequest(w, "request body could not be read")
		return false
	}
	if message := decodeJSONObject(data, dst); message != "" {
		badRequest(w, message)
		return false
	}
	return true
}

// decodeJSONObject decodes data, which must hold exactly one JSON object,
// into dst. It returns "" or a message a client can act on.
func decodeJSONObject(data []byte, dst any) string {
	// JSON's own whitespace (RFC 8259 §2): bytes.TrimSpace would also take
	// away \f, \v, U+0085 and U+00A0, and call a body of them empty.
	trimmed := bytes.Trim(data, " \t\r\n")
	switch {
	case len(trimmed) == 0:
		return "request body must not be empty"
	case !utf8.Valid(data):
		// encoding/json would quietly turn bad bytes into U+FFFD.
		return "request body must be valid UTF-8"
	case trimmed[0] != '{':
		return "request body must be a JSON object"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntaxErr):
			return fmt.Sprintf("request body is malformed JSON at byte %d", syntaxErr.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return "request body is malformed JSON: it ends too soon"
		case errors.As(err, &typeErr) && typeErr.Field != "":
			// Every field a client sends is text.
			return "field " + typeErr.Field + " must be a string"
		default:
			return "request body must be a JSON object"
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "request body must hold a single JSON object"
	}
	return ""
}

// page is a client's choice of one page of a collection: its number, and
// perhaps a cursor, After, the id of the last item of the page before it,
// which a next link carries. With a cursor the page starts after that item
// wherever it now is, and Number is only the page's name in _meta.
type page struct {
	Number  int
	PerPage int
	After   int64
}

func (p page) offset() int { return (p.Number - 1) * p.PerPage }

// query is what to ask the store for: one item more than the page, to tell
// whether a next page follows (newCollection).
func (p page) query() pageQuery {
	return pageQuery{limit: p.PerPage + 1, offset: p.offset(), after: p.After}
}

// readPage reads the page, per_page and after query parameters. A per_page
// above the cap is lowered to it, as the tutorial does; a value that is not
// a positive integer is answered with a 400 and false.
func readPage(w http.ResponseWriter, r *http.Request) (page, bool) {
	p := page{Number: 1, PerPage: defaultPerPage}
	query := r.URL.Query()
	for _, param := range []struct {
		name   string
		digits int
		set    func(int64)
	}{
		// Nine digits keep (page-1)*per_page far from overflow.
		{"page", 9, func(n int64) { p.Number = int(n) }},
		{"per_page", 9, func(n int64) { p.PerPage = int(n) }},
		{"after", 18, func(n int64) { p.After = n }},
	} {
		if !query.Has(param.name) {
			continue
		}
		n, ok := parsePositive(query.Get(param.name), param.digits)
		if !ok {
			message := param.name + " must be a positive integer"
			if param.name == "after" {
				message += ", the id of the last item of the page before (copy it from a next link)"
			}
			badRequest(w, message)
			return page{}, false
		}
		param.set(n)
	}
	p.PerPage = min(p.PerPage, maxPerPage)
	return p, true
}

// parsePositive accepts 1 to maxDigits ASCII digits with a value of at least
// 1: no sign, no spaces, nothing that could overflow.
func parsePositive(s string, maxDigits int) (int64, bool) {
	if len(s) == 0 || len(s) > maxDigits {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 1
}

// pathID reads the {id} path value. An id that is not a positive integer
// names no resource, so it is a 404, as in the tutorial's <int:id> routes.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := parsePositive(r.PathValue("id"), 18)
	if !ok {
		notFound(w)
	}
	return id, ok
}
