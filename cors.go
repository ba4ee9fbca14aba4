package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Browser clients on other origins (CORS). A single-page app served from
// https://app.example.com that calls this API on https://api.example.com
// is cross-origin: the browser sends its requests with an Origin header,
// first asks with a preflight (OPTIONS with Access-Control-Request-Method)
// before any request that carries an Authorization header, and hands the
// app an answer only if the answer names the app's origin in
// Access-Control-Allow-Origin. With -cors-origins unset, which is the
// default, none of this is wired in: no answer names an origin, and
// OPTIONS is a 405 like any other method without a route.
//
// Never "*", and never an origin copied from a request without checking it
// against the list: the list is the operator's choice of the sites whose
// scripts may read answers through their visitors' browsers, which also
// reach servers the sites themselves cannot, such as an API on a private
// network. There is no Access-Control-Allow-Credentials either: it is for
// cookies and HTTP authentication the browser adds by itself, which
// tokenapi does not use (the app sends its bearer token in its own
// Authorization header, which a preflight allows). Without it, a page
// that has the browser add what it remembers (credentials: "include")
// cannot read the answer.

const (
	// corsAllowHeaders are the request headers an app may send: the token,
	// its JSON bodies' type, and a one-time password.
	corsAllowHeaders = "Authorization, Content-Type, X-OTP"
	// corsExposeHeaders are the headers of an answer an app may read
	// besides the few every answer shows: where a new resource is, how long
	// to wait, why a token was refused, and whether a code is wanted.
	corsExposeHeaders = "Location, Retry-After, WWW-Authenticate, X-OTP"
	// corsMaxAge is how long, in seconds, a browser may keep a preflight's
	// answer: ten minutes, so that an origin taken off the list stops
	// working in the open tabs soon after a restart.
	corsMaxAge = "600"
)

// allowOrigins answers preflights for the origins listed, and marks the
// answers to their requests as readable by them. Any other origin gets no
// CORS header at all: its browser then keeps the answer from its page.
// With no origins it adds nothing.
//
// Every answer varies by Origin (Vary: Origin), so that no cache hands the
// answer it stored for one origin to another.
func (s *server) allowOrigins(origins []string, next http.Handler) http.Handler {
	if len(origins) == 0 {
		return next
	}
	listed := make(map[string]bool, len(origins))
	for _, o := range origins {
		listed[o] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Vary"] = varyOrigin
		origin, sent := r.Header["Origin"]
		allowed := sent && len(origin) == 1 && listed[origin[0]]
		preflight := sent && r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
		switch {
		case preflight && !allowed:
			// A 403 with a reason, rather than a silent answer without
			// the headers: the reason shows in the browser's network tab.
			forbidden(w, "this origin may not call the API from a browser: the server's -cors-origins does not list it")
			return
		case allowed:
			h["Access-Control-Allow-Origin"] = origin
		}
		if preflight && s.answerPreflight(w, r) {
			return
		}
		if allowed {
			h["Access-Control-Expose-Headers"] = corsExposeHeadersValue
		}
		next.ServeHTTP(w, r)
	})
}

// answerPreflight answers an allowed origin's preflight with the methods
// the mux has for its path, the very list its 405 would give in Allow, so
// that routes() stays the one place that says which methods a path takes.
// A path without routes it leaves to the mux (a 404), and reports false.
func (s *server) answerPreflight(w http.ResponseWriter, r *http.Request) bool {
	status, allow := s.unrouted(r)
	if status != http.StatusMethodNotAllowed || allow == "" {
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", allow)
	h["Access-Control-Allow-Headers"] = corsAllowHeadersValue
	h["Access-Control-Max-Age"] = corsMaxAgeValue
	w.WriteHeader(http.StatusNoContent)
	return true
}

// The values of the headers above, shared as middleware.go's are.
var (
	varyOrigin             = []string{"Origin"}
	corsAllowHeadersValue  = []string{corsAllowHeaders}
	corsExposeHeadersValue = []string{corsExposeHeaders}
	corsMaxAgeValue        = []string{corsMaxAge}
)

// corsFlag declares -cors-origins, which sets o.corsOrigins.
func (o *options) corsFlag(fs *flag.FlagSet, value func(func(string) error) func(string) error) {
	fs.Func("cors-origins", "origins of browser apps that may call the API, comma-separated,\n"+
		"e.g. https://app.example.com (TOKENAPI_CORS_ORIGINS; default none: no CORS)",
		value(func(s string) error { return parseCORSOrigins(s, &o.corsOrigins) }))
}

// parseCORSOrigins reads -cors-origins: origins separated by commas, each
// kept in the form a browser sends it in the Origin header (see
// parseOrigin), which is then compared byte for byte.
func parseCORSOrigins(s string, dst *[]string) error {
	var origins []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		o, err := parseOrigin(item)
		if err != nil {
			return err
		}
		origins = append(origins, o)
	}
	*dst = origins
	return nil
}

// parseOrigin reads one origin, scheme://host[:port], and returns it as a
// browser serializes it: scheme and host in lower case, and no port when
// it is the scheme's own (443 for https, 80 for http). A wildcard, a path
// (even "/"), a query or a user is refused rather than dropped: the
// browser's Origin never has one, so such an entry could never match, and
// the operator would be left guessing why the app is blocked.
func parseOrigin(s string) (string, error) {
	example := "an origin such as https://app.example.com or http://localhost:3000"
	if strings.Contains(s, "*") {
		return "", fmt.Errorf("%q: no wildcards; list each origin, such as https://app.example.com", s)
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("%q is not %s", s, example)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("%q: an origin's scheme is http or https, not %q", s, u.Scheme)
	case u.User != nil:
		return "", fmt.Errorf("%q: an origin has no user or password", s)
	case u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#"):
		return "", fmt.Errorf("%q: an origin is scheme://host[:port] with nothing after it, not even /: %s://%s", s, u.Scheme, u.Host)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" && strings.HasSuffix(u.Host, ":") {
		return "", fmt.Errorf("%q: a port is missing after the colon", s)
	}
	if n, err := strconv.Atoi(port); port != "" && (err != nil || n < 1 || n > 65535) {
		return "", fmt.Errorf("%q: the port is not a number from 1 to 65535", s)
	}
	if port == defaultPorts[u.Scheme] {
		port = ""
	}
	if port == "" {
		if strings.Contains(host, ":") { // an IPv6 address keeps its brackets
			host = "[" + host + "]"
		}
		return u.Scheme + "://" + host, nil
	}
	return u.Scheme + "://" + net.JoinHostPort(host, port), nil
}

// defaultPorts are the ports an origin leaves out, by scheme.
var defaultPorts = map[string]string{"http": "80", "https": "443"}
