package main

// Crosses the whole program: fuzz targets through the real handler stack.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for what a hostile client controls beyond the Authorization
// parsers (FuzzParseBasic and FuzzParseBearer in authheader_test.go): the header
// lines as a whole, the request body, the query and the path. The seeds run
// in every go test; CI fuzzes each target for a few seconds.

// FuzzAuthorization sends raw header lines, as net/http reads them off the
// wire, through the real handler stack of both login schemes. However many
// Authorization lines there are, in whatever case, authorization must find
// one only when there is exactly one, and the endpoints must answer 200 only
// for the right credentials in a single header, and 401 otherwise.
func FuzzAuthorization(f *testing.F) {
	// No lockouts, so that a 200 stays reachable; no request log, which a
	// long fuzzing run would grow in memory without end.
	ts := newTestServer(f, func(c *config) { c.throttleLimit, c.accountLimit, c.addressLimit = 1<<30, 1<<30, 1<<30 })
	ts.srv.log = slog.New(slog.DiscardHandler)
	ts.createUser(f, "muthoni", "muthoni-password")
	token := ts.login(f, "muthoni", "muthoni-password")
	basic := "Authorization: Basic " + b64("muthoni:muthoni-password")
	bearer := "Authorization: Bearer " + token
	for _, seed := range []string{
		"",
		basic,
		bearer,
		"authorization: Basic " + b64("muthoni:muthoni-password"),
		"AUTHORIZATION: bearer " + token,
		"Authorization: basic    " + b64("muthoni:muthoni-password"),
		basic + "\r\n" + basic,
		bearer + "\r\n" + bearer,
		basic + "\r\n" + bearer,
		bearer + "\r\nauthorization: Bearer " + token,
		basic + "\r\nAuthorization:",
		"Authorization:\r\n" + bearer,
		"Authorization: \r\n" + basic,
		"Authorization: Basic " + b64("muthoni:muthoni-password") + ", Basic " + b64("muthoni:muthoni-password"),
		"Authorization: Bearer " + token + ", Bearer " + token,
		"Authorization: Basic " + b64("muthoni:muthoni-password:extra"),
		"Authorization: Basic " + b64("muthoni:muthoni\x00password"),
		"Authorization: Basic " + b64("muthoni:muthoni-password\xff"),
		"Authorization: Basic " + b64("nobody:muthoni-password"),
		"Authorization: Bearer " + token + "\x00",
		"Authorization: Bearer " + token + "\xff",
		"Authorization: Bearer " + changeChar(token, len(tokenPrefix)),
		"Authorization: Bearer " + token[:tokenLen-1],
		"Authorization: Bearer " + strings.Repeat("t", maxTokenLen+1),
		"Authorization: Basic\r\n " + b64("muthoni:muthoni-password"), // obsolete line folding
		"Authorization : " + token,
		"X-Authorization: Bearer " + token,
		"Proxy-Authorization: Bearer " + token,
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	f.Fuzz(func(t *testing.T, lines string, tokenEndpoint bool) {
		path, method := "/api/tokens", "POST"
		if tokenEndpoint {
			path, method = "/api/users", "GET"
		}
		raw := method + " " + path + " HTTP/1.1\r\nHost: example.com\r\n" + lines + "\r\n\r\n"
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			return // the server would refuse it before any handler runs
		}
		values := req.Header.Values("Authorization")
		header, ok := authorization(req)
		switch {
		case ok != (len(values) == 1):
			t.Fatalf("authorization with %d Authorization headers %q = %v, want %v", len(values), values, ok, len(values) == 1)
		case ok && header != values[0]:
			t.Fatalf("authorization = %q, want %q", header, values[0])
		case !ok && header != "":
			t.Fatalf("authorization = %q, false; want an empty header", header)
		}

		rec := httptest.NewRecorder()
		ts.srv.ServeHTTP(rec, req)
		what := fmt.Sprintf("%s %s with Authorization %q", method, path, values)
		right := false
		if tokenEndpoint {
			got, err := parseBearer(header)
			right = ok && err == nil && got == token
		} else {
			user, pass, parsed := parseBasic(header)
			right = ok && parsed && strings.EqualFold(user, "muthoni") && pass == "muthoni-password"
		}
		want := http.StatusUnauthorized
		if right {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Fatalf("%s = %d %s, want %d", what, rec.Code, rec.Body, want)
		}
		challenge := rec.Header().Get("WWW-Authenticate")
		switch {
		case want == http.StatusOK:
		case !tokenEndpoint && challenge != `Basic realm="Authentication Required"`:
			t.Fatalf("%s: WWW-Authenticate = %q, want the Basic challenge", what, challenge)
		case tokenEndpoint && len(values) != 1 && challenge != `Bearer realm="Authentication Required"`:
			// Two tokens are no token: none was sent, so none is invalid.
			t.Fatalf("%s: WWW-Authenticate = %q, want the Bearer challenge without an error", what, challenge)
		}
	})
}

// FuzzReadJSON sends any Content-Type and body through readPostJSON into a real
// request type; some bodies are padded with leading whitespace to a length
// around the cap. It must either decode exactly what encoding/json makes of a
// single object, answering nothing, or answer the one right 4xx as a JSON
// error with a message: 415 for a Content-Type that is not JSON, 413 for a
// body over the cap, 400 for anything else.
func FuzzReadJSON(f *testing.F) {
	for _, seed := range []struct {
		contentType string
		body        string
		nearCap     uint8
	}{
		{"application/json", `{"title": "t", "body": "b"}`, 0},
		{"application/json; charset=utf-8", `{"title": "t"}`, 0},
		{"APPLICATION/JSON; CHARSET=UTF-8", `{}`, 0},
		{"application/json; charset=latin1", `{}`, 0},
		{"application/json; charset", `{}`, 0},
		{"application/json;;", `{}`, 0},
		{"application/json, text/plain", `{}`, 0},
		{"application/jsonx", `{}`, 0},
		{"text/json", `{}`, 0},
		{"", `{}`, 0},
		{"application/json", ``, 0},
		{"application/json", " \t\r\n", 0},
		//X
		//Y
		{"application/json", "\x00", 0},
		{"application/json", `{"title": "a` + "\x00" + `"}`, 0},
		{"application/json", `{"title": "\u0000"}`, 0},
		{"application/json", "{\"title\": \"\xff\"}", 0},
		{"application/json", "{\"title\": \"\xed\xa0\x80\"}", 0}, // a UTF-16 surrogate
		{"application/json", `{"title": "\ud800"}`, 0},
		{"application/json", "\xef\xbb\xbf{}", 0}, // byte order mark
		{"application/json", `{"title": 5}`, 0},
		{"application/json", `{"title": null, "body": ["b"]}`, 0},
		{"application/json", `{"title": {"body": 1}}`, 0},
		{"application/json", `{"TITLE": "t", "title": "u"}`, 0},
		{"application/json", `{"title": "t"} {}`, 0},
		{"application/json", `{"title": "t"}}`, 0},
		{"application/json", `{"title": "t"`, 0},
		{"application/json", `{"title" "t"}`, 0},
		{"application/json", `[{}]`, 0},
		{"application/json", `null`, 0},
		{"application/json", `"{}"`, 0},
		{"application/json", `{` + strings.Repeat(`"a":{`, 200) + strings.Repeat(`}`, 201), 0},
		{"application/json", `{"a": ` + strings.Repeat(`[`, 10001), 0},
		{"application/json", `{"title": "t"}`, 0xf8},    // exactly at the cap
		{"application/json", `{"title": "t"}`, 0xf9},    // one byte over
		{"application/json", `{"title": 5}`, 0xf7},      // one byte under
		{"application/json; charset=utf-8", `{}`, 0xff}, // seven over
		{"text/plain", `{}`, 0xff},
	} {
		f.Add(seed.contentType, []byte(seed.body), seed.nearCap)
	}
	f.Fuzz(func(t *testing.T, contentType string, body []byte, nearCap uint8) {
		// One value of nearCap in sixteen pads the body with leading spaces
		// to within 8 bytes of the cap, either side; the rest leave it small
		// and quick, for the fuzzer to spend its time on the JSON.
		if nearCap >= 0xf0 {
			total := maxPostBodyBytes + int(nearCap) - 0xf8
			body = append(bytes.Repeat([]byte(" "), max(0, total-len(body))), body...)
		}
		req := httptest.NewRequest("POST", "/api/posts", bytes.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		rec := httptest.NewRecorder()
		var got postRequest
		accepted := readPostJSON(rec, req, &got)

		mediaType, params, err := mime.ParseMediaType(contentType)
		isJSON := err == nil && mediaType == "application/json" &&
			(params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8"))
		var want postRequest
		wantStatus := 0
		switch {
		case !isJSON:
			wantStatus = http.StatusUnsupportedMediaType
		case len(body) > maxPostBodyBytes:
			wantStatus = http.StatusRequestEntityTooLarge
		case !utf8.Valid(body) || !json.Valid(body) || bytes.TrimLeft(body, " \t\r\n")[0] != '{' ||
			json.Unmarshal(body, &want) != nil:
			wantStatus = http.StatusBadRequest
		}
		what := fmt.Sprintf("readPostJSON(Content-Type %q, %d bytes %.60q)", contentType, len(body), bytes.TrimLeft(body, " "))

		if wantStatus == 0 {
			if !accepted {
				t.Fatalf("%s = %d %s, want it accepted as %+v", what, rec.Code, rec.Body, want)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s decoded %+v, want %+v as encoding/json decodes it", what, got, want)
			}
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Fatalf("%s accepted the body but answered %q %v", what, rec.Body, rec.Header())
			}
			return
		}
		if accepted {
			t.Fatalf("%s accepted %+v, want %d", what, got, wantStatus)
		}
		if rec.Code != wantStatus {
			t.Fatalf("%s = %d %s, want %d", what, rec.Code, rec.Body, wantStatus)
		}
		var answer errorResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil ||
			answer.Error != http.StatusText(wantStatus) || answer.Message == "" {
			t.Fatalf("%s answered %q, want a JSON error with a message", what, rec.Body)
		}
		if strings.Contains(answer.Message, "empty") && len(bytes.Trim(body, " \t\r\n")) != 0 {
			t.Fatalf("%s answered %q, but the body holds more than whitespace", what, answer.Message)
		}
	})
}

// FuzzPagination sends any query string and any path id through readPage
// and pathID. A page must come out within its bounds, and only when each of
// page and per_page, if given, is 1 to 9 digits worth at least 1; an id only
// when it is 1 to 18 digits worth at least 1. Anything else is a JSON 400
// naming the parameter, or a JSON 404 for the id.
func FuzzPagination(f *testing.F) {
	for _, seed := range []struct{ query, id string }{
		{"", "1"},
		{"page=2&per_page=5", "42"},
		{"page=1&page=x", "0"},
		{"page=x&page=1", "-1"},
		{"per_page=101", "+1"},
		{"per_page=100", " 1"},
		{"per_page=0", "1 "},
		{"page=999999999", "999999999999999999"},
		{"page=1000000000", "1000000000000000000"},
		{"page=000000001", "000000000000000001"},
		{"page=0000000001", "9223372036854775807"},
		{"page=99999999999999999999", "9223372036854775808"},
		{"page=", ""},
		{"page", "%31"},
		{"page=%31", "1%00"},
		{"page=1%00", "1\x00"},
		{"page=%00", "\x00"},
		{"page=%ff", "\xff"},
		{"page=%EF%BC%91", "１"}, // a full-width digit one
		{"page=%D9%A1", "١"},    // an Arabic-Indic digit one
		{"page=1e3", "1e3"},
		{"page=0x10", "0x10"},
		{"page=1.0", "1.0"},
		{"page=1;per_page=2", "1;2"},
		{"page=1&&&per_page=2&", "1/2"},
		{"PAGE=0&Per_Page=0", "١٢"},
		{"page=%2B1", "-0"},
		{"page=1+", "1_000"},
		{"per_page=" + strings.Repeat("9", 1000), strings.Repeat("9", 1000)},
		{strings.Repeat("page=1&", 1000), strings.Repeat("1", 19)},
	} {
		f.Add(seed.query, seed.id)
	}
	f.Fuzz(func(t *testing.T, rawQuery, id string) {
		req := httptest.NewRequest("GET", "/api/posts", nil)
		req.URL.RawQuery = rawQuery // as the client sent it, however malformed
		query := req.URL.Query()
		rec := httptest.NewRecorder()
		p, ok := readPage(rec, req)

		want := page{Number: 1, PerPage: defaultPerPage}
		wantOK := true
		badParam := ""
		for _, param := range []struct {
			name string
			dst  *int
		}{{"page", &want.Number}, {"per_page", &want.PerPage}} {
			if !query.Has(param.name) {
				continue
			}
			n, valid := positiveSpec(query.Get(param.name), 9)
			if !valid {
				wantOK, badParam = false, param.name
				break
			}
			*param.dst = int(n)
		}
		want.PerPage = min(want.PerPage, maxPerPage)
		what := fmt.Sprintf("readPage(%q)", rawQuery)
		switch {
		case ok != wantOK:
			t.Fatalf("%s = %+v, %v; want ok %v", what, p, ok, wantOK)
		case ok && p != want:
			t.Fatalf("%s = %+v, want %+v", what, p, want)
		case ok && (p.Number < 1 || p.Number > 999_999_999 || p.PerPage < 1 || p.PerPage > maxPerPage || p.offset() < 0):
			t.Fatalf("%s = %+v, out of bounds", what, p)
		case ok && rec.Body.Len() != 0:
			t.Fatalf("%s accepted the query but answered %q", what, rec.Body)
		case !ok:
			wantJSONError(t, what, rec, http.StatusBadRequest, badParam+" must be a positive integer")
		}

		req.SetPathValue("id", id)
		rec = httptest.NewRecorder()
		got, ok := pathID(rec, req)
		wantID, wantOK := positiveSpec(id, 18)
		what = fmt.Sprintf("pathID(%q)", id)
		switch {
		case ok != wantOK || got != wantID:
			t.Fatalf("%s = %d, %v; want %d, %v", what, got, ok, wantID, wantOK)
		case ok && rec.Body.Len() != 0:
			t.Fatalf("%s accepted the id but answered %q", what, rec.Body)
		case !ok:
			wantJSONError(t, what, rec, http.StatusNotFound, "")
		}
	})
}

// positiveSpec is what parsePositive promises, written another way: up to
// maxDigits ASCII digits, not all zeros, and their value.
func positiveSpec(s string, maxDigits int) (int64, bool) {
	if s == "" || len(s) > maxDigits || strings.Trim(s, "0123456789") != "" || strings.Trim(s, "0") == "" {
		return 0, false
	}
	var n int64
	for _, c := range []byte(s) {
		n = n*10 + int64(c-'0')
	}
	if strconv.FormatInt(n, 10) != strings.TrimLeft(s, "0") {
		return 0, false // overflowed
	}
	return n, true
}

// wantJSONError checks a recorded answer is the JSON error for status, with
// a message containing message when that is not "".
func wantJSONError(t *testing.T, what string, rec *httptest.ResponseRecorder, status int, message string) {
	t.Helper()
	var answer errorResponse
	if rec.Code != status || json.Unmarshal(rec.Body.Bytes(), &answer) != nil ||
		answer.Error != http.StatusText(status) || !strings.Contains(answer.Message, message) {
		t.Fatalf("%s answered %d %q, want %d with a message containing %q", what, rec.Code, rec.Body, status, message)
	}
}
