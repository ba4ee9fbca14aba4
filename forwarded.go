package main

import (
	"net/netip"
	"strings"
)

// The syntax of the forwarding headers that clientaddr.go reads:
// X-Forwarded-For, a comma-separated list of addresses, and Forwarded
// (RFC 7239), a list of elements of name=value pairs whose for= names the
// client of each hop. Each reader takes one entry, cut from the end of the
// list, and refuses anything it does not understand.

// headerSyntax is how a forwarding header is read: how its last entry is
// cut off, and what address an entry names.
type headerSyntax struct {
	cutLast func(list string) (rest, entry string, found bool)
	hop     func(entry string) (netip.Addr, bool)
}

// The two headers' syntaxes. X-Forwarded-For has no quoted strings: a quote
// in it is only a character of a malformed entry, and must not join the
// entry to what the client wrote before it.
var (
	xForwardedForSyntax = headerSyntax{cutLastComma, xForwardedForHop}
	forwardedSyntax     = headerSyntax{cutLastEntry, forwardedHop}
)

// cutLastComma splits list at its last comma; found is false when there is
// none.
func cutLastComma(list string) (rest, entry string, found bool) {
	i := strings.LastIndexByte(list, ',')
	if i < 0 {
		return "", list, false
	}
	return list[:i], list[i+1:], true
}

// cutLastEntry splits list at its last comma outside a quoted string (a
// Forwarded value may hold one), reading back from the end only as far as
// that comma; found is false when there is none. Within a quoted string,
// a quote after an odd run of backslashes is escaped.
func cutLastEntry(list string) (rest, entry string, found bool) {
	quoted := false
	for i := len(list) - 1; i >= 0; i-- {
		switch list[i] {
		case '"':
			if !quoted || backslashesBefore(list, i)%2 == 0 {
				quoted = !quoted
			}
		case ',':
			if !quoted {
				return list[:i], list[i+1:], true
			}
		}
	}
	return "", list, false
}

// backslashesBefore counts the backslashes just before s[i].
func backslashesBefore(s string, i int) int {
	n := 0
	for i--; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}

// xForwardedForHop reads an entry of X-Forwarded-For: an address, which
// some proxies write with a port, an IPv6 one then in brackets.
func xForwardedForHop(entry string) (netip.Addr, bool) {
	return parseNode(strings.TrimSpace(entry))
}

// forwardedHop reads the address in the for= parameter of an element of
// Forwarded.
func forwardedHop(element string) (netip.Addr, bool) {
	node, ok := forwardedFor(element)
	if !ok {
		return netip.Addr{}, false
	}
	return parseNode(node)
}

// parseNode reads a node of RFC 7239 §6: an IPv4 address, or an IPv6 one in
// brackets, either with an optional port (digits, or an obfuscated "_name");
// a bare IPv6 address is taken too, as X-Forwarded-For writes it. "unknown"
// and an obfuscated identifier are not addresses. An IPv4 address mapped
// into IPv6 is the IPv4 one, and a zone is dropped, so that one client has
// one address however a proxy wrote it.
func parseNode(node string) (netip.Addr, bool) {
	host, port := node, ""
	if inner, ok := strings.CutPrefix(node, "["); ok {
		var after string
		if host, after, ok = strings.Cut(inner, "]"); !ok {
			return netip.Addr{}, false
		}
		if after != "" {
			if port, ok = strings.CutPrefix(after, ":"); !ok || port == "" {
				return netip.Addr{}, false
			}
		}
	} else if strings.Count(node, ":") == 1 {
		host, port, _ = strings.Cut(node, ":")
		if port == "" {
			return netip.Addr{}, false
		}
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !isNodePort(port) {
		return netip.Addr{}, false
	}
	return addr.WithZone("").Unmap(), true
}

// isNodePort reports whether port, if any, is one of RFC 7239 §6.1's: up to
// five digits, or "_" and letters, digits, ".", "_" or "-".
func isNodePort(port string) bool {
	if port == "" {
		return true
	}
	if port[0] != '_' {
		return len(port) <= 5 && strings.Trim(port, "0123456789") == ""
	}
	for i := 1; i < len(port); i++ {
		if c := port[i]; !isAlphaNum(c) && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return len(port) > 1
}

// forwardedFor returns the node of an element's for= parameter, unquoted,
// and false when the element has none, has two, or is not name=value pairs
// separated by ";" (RFC 7239 §4). A value is a token or a quoted string;
// unquoted it may also hold ":" and brackets, which some proxies write
// though the RFC asks for quotes.
func forwardedFor(element string) (node string, ok bool) {
	found := false
	for s := strings.TrimSpace(element); s != ""; {
		name, rest, hasValue := strings.Cut(s, "=")
		if !hasValue || !isToken(name, false) {
			return "", false
		}
		value, rest, ok := cutPairValue(rest)
		isFor := strings.EqualFold(name, "for")
		if !ok || isFor && found {
			return "", false
		}
		if isFor {
			node, found = value, true
		}
		s = rest
	}
	return node, found
}

// cutPairValue reads the value at the start of s, a quoted string or a
// token, and returns it with what follows the ";" after it.
func cutPairValue(s string) (value, rest string, ok bool) {
	if strings.HasPrefix(s, `"`) {
		value, rest, ok = cutQuoted(s)
	} else {
		end := strings.IndexAny(s, "; \t")
		if end < 0 {
			end = len(s)
		}
		value, rest, ok = s[:end], s[end:], isToken(s[:end], true)
	}
	rest = strings.TrimLeft(rest, " \t")
	switch {
	case !ok:
		return "", "", false
	case rest == "":
		return value, "", true
	case rest[0] != ';':
		return "", "", false
	}
	return value, strings.TrimLeft(rest[1:], " \t"), true
}

// cutQuoted reads the quoted string at the start of s (RFC 9110 §5.6.4),
// undoing its escapes, and returns it with what follows it.
func cutQuoted(s string) (value, rest string, ok bool) {
	var b []byte // only for a string with escapes
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' && b == nil:
			return s[1:i], s[i+1:], true
		case c == '"':
			return string(b), s[i+1:], true
		case c == '\\' && i+1 < len(s):
			if b == nil {
				b = append([]byte(nil), s[1:i]...)
			}
			i++
			b = append(b, s[i])
		case b != nil:
			b = append(b, c)
		}
	}
	return "", "", false
}

// isToken reports whether s is a token (RFC 9110 §5.6.2), or with node
// also holding ":", "[" or "]".
func isToken(s string, node bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlphaNum(c) && !strings.ContainsRune("!#$%&'*+-.^_`|~", rune(c)) &&
			!(node && (c == ':' || c == '[' || c == ']')) {
			return false
		}
	}
	return s != ""
}

func isAlphaNum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
