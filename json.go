package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxBodyBytes caps every request body.
const maxBodyBytes = 1 << 20

// writeJSON is the one writer of JSON responses. It encodes before it writes
// the header, so an encoding failure can still become a clean 500. HTML
// escaping is off: these are API responses, and links keep a plain '&'.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var body bytes.Buffer
	enc := json.NewEncoder(&body)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		body.Reset()
		body.WriteString(`{"error":"Internal Server Error"}` + "\n")
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(body.Bytes())
}

// readJSON is the one reader of request bodies. It decodes a single JSON
// object into dst, ignoring unknown fields. When the body is not that, it
// answers the client itself (415, 413 or 400, naming the field at fault) and
// returns false.
func readJSON(w http.ResponseWriter, r *http.Request, dst any) bool {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" ||
		(params["charset"] != "" && !strings.EqualFold(params["charset"], "utf-8")) {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return false
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
			writeError(w, http.StatusRequestEntityTooLarge,
				fmt.Sprintf("body must not be larger than %d bytes", maxBodyBytes))
			return false
		}
		badRequest(w, "body could not be read")
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
		return "body must not be empty"
	case !utf8.Valid(data):
		// encoding/json would quietly turn bad bytes into U+FFFD.
		return "body must be valid UTF-8"
	case trimmed[0] != '{':
		return "body must be a JSON object"
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(dst); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntaxErr):
			return fmt.Sprintf("body is malformed JSON at byte %d", syntaxErr.Offset)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return "body is malformed JSON: it ends too soon"
		case errors.As(err, &typeErr) && typeErr.Field != "":
			// Every field a client sends is text.
			return typeErr.Field + " must be a string"
		default:
			return "body must be a JSON object"
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "body must hold a single JSON object"
	}
	return ""
}
