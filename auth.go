package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Bounds on what an Authorization header may carry. A password longer than
// the longest one we accept cannot be right, so it is refused before it
// costs a hash.
const (
	maxUsernameLen = 64
	maxPasswordLen = 1024
	maxTokenLen    = 256
)

// caller is the authenticated client of a request.
type caller struct {
	userID int64
	// tokenHash is the hash of the token the request came with; zero when
	// it came with a username and password.
	tokenHash tokenHash
	// passwordHash is the stored password hash a username and password were
	// checked against; empty when the request came with a token.
	passwordHash string
}

type contextKey int

const callerKey contextKey = 0

func withCaller(ctx context.Context, c *caller) context.Context {
	return context.WithValue(ctx, callerKey, c)
}

// callerFrom returns the caller that requireBasic or requireToken put in
// the context. Handlers behind those wrappers always have one.
func callerFrom(ctx context.Context) *caller {
	return ctx.Value(callerKey).(*caller)
}

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

// noControlChars reports whether s is valid UTF-8 without control characters.
func noControlChars(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if isControl(r) {
			return false
		}
	}
	return true
}

// parseBearer reads the token of a Bearer Authorization header (RFC 6750
// §2.1). The token must have the b64token syntax and be of a sane length;
// surrounding spaces are tolerated.
func parseBearer(header string) (string, bool) {
	token, ok := cutScheme(header, "Bearer")
	if !ok {
		return "", false
	}
	token = strings.TrimRight(token, " ")
	if token == "" || len(token) > maxTokenLen {
		return "", false
	}
	body := strings.TrimRight(token, "=")
	if body == "" {
		return "", false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			return "", false
		}
	}
	return token, true
}

// clientAddr is the address a login is throttled by: the connection's peer.
// X-Forwarded-For is not trusted, since any client can send it.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// requireBasic lets a request through to next only with a right username
// and password, throttling repeated failures per username and address.
func (s *server) requireBasic(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, _ := authorization(r)
		username, password, ok := parseBasic(header)
		if !ok {
			basicChallenge(w, "")
			return
		}
		// The key outlives the request in the throttle's table; Clone keeps it
		// from holding on to the decoded header, password and all.
		key := throttleKey{username: strings.Clone(strings.ToLower(username)), addr: clientAddr(r)}
		if !s.enterThrottle(w, r, key) {
			return
		}
		id, passwordHash, err := s.verifyLogin(r.Context(), username, password)
		switch {
		case errors.Is(err, errWrongPassword):
			s.throttle.failed(key)
			basicChallenge(w, "")
			return
		case err != nil:
			s.throttle.abandoned(key)
			s.serverError(w, r, err)
			return
		}
		s.throttle.succeeded(key)
		setLogUser(r.Context(), id)
		next(w, r.WithContext(withCaller(r.Context(), &caller{userID: id, passwordHash: passwordHash})))
	})
}

// enterThrottle starts a password check for key under the login throttle.
// When key is locked out, or the client goes away while waiting for the
// outcome of the attempts already in flight, it answers the client itself
// and returns false.
func (s *server) enterThrottle(w http.ResponseWriter, r *http.Request, key throttleKey) bool {
	wait, err := s.throttle.enter(r.Context(), key)
	switch {
	case err != nil:
		s.serverError(w, r, err)
		return false
	case wait > 0:
		tooManyRequests(w, wait)
		return false
	}
	return true
}

var errWrongPassword = errors.New("wrong username or password")

// verifyLogin returns the id of the user with this username and password,
// and the stored hash it matched, or errWrongPassword. An unknown username
// costs a full hash too, so the time taken does not tell which usernames
// exist.
func (s *server) verifyLogin(ctx context.Context, username, password string) (int64, string, error) {
	id, hash, err := s.store.passwordHashByUsername(ctx, username)
	if errors.Is(err, errNotFound) {
		hash = s.passwords.unknownUserHash
	} else if err != nil {
		return 0, "", err
	}
	ok, err := s.passwords.matches(ctx, hash, password)
	if err != nil {
		return 0, "", err
	}
	if !ok || id == 0 {
		return 0, "", errWrongPassword
	}
	return id, hash, nil
}

// requireToken lets a request through to next only with a live bearer
// token, and keeps the caller's last_seen fresh.
func (s *server) requireToken(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, ok := authorization(r)
		if rest, isBearer := cutScheme(header, "Bearer"); !ok || !isBearer || strings.TrimSpace(rest) == "" {
			// No token was sent, so none can be invalid (RFC 6750 §3.1).
			bearerChallenge(w, false, "")
			return
		}
		token, ok := parseBearer(header)
		if !ok {
			bearerChallenge(w, true, "the token is malformed")
			return
		}
		hash := hashToken(token)
		now := s.now()
		id, err := s.tokenOwner(r.Context(), hash, now)
		if errors.Is(err, errNotFound) {
			bearerChallenge(w, true, "the token is unknown, expired or revoked")
			return
		}
		if err != nil {
			s.serverError(w, r, err)
			return
		}
		s.lastSeen.note(id, now)
		s.passwords.noteOtherWork()
		setLogUser(r.Context(), id)
		next(w, r.WithContext(withCaller(r.Context(), &caller{userID: id, tokenHash: hash})))
	})
}
