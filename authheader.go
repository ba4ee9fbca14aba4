package main

import (
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Reading the Authorization header: the credentials of requireBasic and
// requireToken (auth.go), checked for syntax and bounds before they cost
// a hash or a query.

// Bounds on what an Authorization header may carry. A password longer than
// the longest one we accept cannot be right, so it is refused before it
// costs a hash.
const (
	maxUsernameLen = 64
	maxPasswordLen = 1024
	maxTokenLen    = 256
)

// authorization returns the request's one Authorization header. Two or more
// are ambiguous, so they count as none: a proxy and a client must not be able
// to disagree on which one is meant.
func authorization(r *http.Request) (string, bool) {
	values := r.Header.Values("Authorization")
	if len(values) != 1 {
		return "", false
	}
	return values[0], true
}

// cutScheme splits "Scheme credentials" with the scheme matched in any case
// (RFC 9110 §11.1) and one or more spaces after it.
func cutScheme(header, scheme string) (string, bool) {
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) || header[len(scheme)] != ' ' {
		return "", false
	}
	return strings.TrimLeft(header[len(scheme):], " "), true
}

// parseBasic reads the username and password of a Basic Authorization header
// (RFC 7617). The username ends at the first colon; the password may hold
// more. Both must be valid UTF-8 without control characters, within bounds.
func parseBasic(header string) (username, password string, ok bool) {
	encoded, ok := cutScheme(header, "Basic")
	if !ok || len(encoded) > base64.StdEncoding.EncodedLen(maxUsernameLen+1+maxPasswordLen*utf8.UTFMax) {
		return "", "", false
	}
	decoded, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", "", false
	}
	username, password, ok = strings.Cut(string(decoded), ":")
	if !ok || username == "" || password == "" ||
		len(username) > maxUsernameLen || utf8.RuneCountInString(password) > maxPasswordLen ||
		!noControlChars(username) || !noControlChars(password) {
		return "", "", false
	}
	return username, password, true
}

// Why a request has no usable bearer token. They get different challenges:
// a request with no token cannot have an invalid one (RFC 6750 §3.1).
var (
	errNoToken        = errors.New("no bearer token")
	errMalformedToken = errors.New("malformed bearer token")
)

// bearerToken returns the token of the request's Bearer Authorization
// header, or errNoToken or errMalformedToken.
func bearerToken(r *http.Request) (string, error) {
	header, _ := authorization(r)
	return parseBearer(header)
}

// hasBearer reports whether the request comes with a Bearer Authorization
// header, well-formed or not.
func hasBearer(r *http.Request) bool {
	header, _ := authorization(r)
	_, ok := cutBearer(header)
	return ok
}

// cutBearer returns what follows the Bearer scheme of an Authorization
// header, and whether the header has that scheme.
func cutBearer(header string) (string, bool) { return cutScheme(header, "Bearer") }

// parseBearer reads the token of a Bearer Authorization header (RFC 6750
// §2.1). The token must have the b64token syntax and be of a sane length;
// surrounding spaces are tolerated. A token with the prefix of today's
// tokens must also have their length, characters and checksum
// (tokenformat.go); one without it, from before the prefix, is looked up
// as ever until it expires.
func parseBearer(header string) (string, error) {
	token, ok := cutBearer(header)
	if !ok || strings.TrimSpace(token) == "" {
		return "", errNoToken
	}
	token = strings.TrimRight(token, " ")
	if len(token) > maxTokenLen || !isB64Token(token) ||
		strings.HasPrefix(token, tokenPrefix) && !wellFormedToken(token) {
		return "", errMalformedToken
	}
	return token, nil
}

// isB64Token reports whether s has RFC 6750's b64token syntax: at least
// one of the characters below, then any number of '='.
func isB64Token(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			return false
		}
	}
	return true
}
