package main

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// The client's address: what the login throttle counts failures by and the
// request log shows. It is the connection's peer, unless the peer is a
// reverse proxy the operator trusts (-trusted-proxies). Every request then
// comes from the proxy, which names the client it serves in a header; but
// any client can send that header too, so it is believed only from a
// trusted proxy, and only as far back as a chain of trusted proxies reaches.
//
// The header is read from its end, one hop at a time: each trusted proxy
// adds its own peer at the end of what it was sent. The first address from
// the end that is not a trusted proxy is the client; whatever precedes it
// the client wrote itself, so the walk stops before it, and it can make
// the client look like no one else, nor make its failures count against
// the proxy.
//
// When the entry where the walk stops is not an address (junk, "unknown",
// an obfuscated "_name", no for= parameter), the client is the last hop
// known: the trusted proxy that wrote that entry, which is the peer when
// there is one proxy. Only a trusted proxy can have written that entry, so
// it is a proxy that does not know its client (or one misconfigured), not
// an attacker's doing, and the nearest address still vouched for is that
// proxy's. Falling back all the way to the peer would gain nothing: the
// hops in between are trusted.
//
// A request may carry both X-Forwarded-For and Forwarded (RFC 7239). Only
// one is read, since their hops cannot be lined up: X-Forwarded-For when it
// is there, Forwarded otherwise. Most proxies write X-Forwarded-For (nginx's
// $proxy_add_x_forwarded_for, Caddy, Traefik, Envoy, cloud load balancers)
// and pass a Forwarded header from the client on untouched, so were
// Forwarded to win, any client behind them could name itself. A proxy that
// writes only Forwarded must remove X-Forwarded-For (docs/operating.md).

// Bounds on what is read of a forwarding header, so that a hostile one costs
// little: the last maxForwardedBytes of its lines, and at most
// maxForwardedHops entries from the end. A real chain is a few hops of at
// most a hundred bytes each; past either bound the last hop read stands.
const (
	maxForwardedBytes = 2048
	maxForwardedHops  = 16
)

// clientAddrKey is the request context's key of the client's address, set
// by resolveClient when it is not the peer's.
type clientAddrKey struct{}

// clientAddr is the address of the client that sent r: the one
// resolveClient found behind trusted proxies, or else the connection's
// peer. A handler called without resolveClient, as some tests do, sees
// the peer.
func clientAddr(r *http.Request) string {
	if addr, ok := r.Context().Value(clientAddrKey{}).(string); ok {
		return addr
	}
	return peerAddr(r)
}

// peerAddr is the address of the connection's peer, without its port.
func peerAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// resolveClient finds the client of each request once, before anything
// else sees the request, and keeps its address in the request's context for
// clientAddr when it is not the peer's. With no proxy trusted, the peer is
// the client and requests pass untouched: a context value costs a copy of
// the request.
func resolveClient(trusted []netip.Prefix, next http.Handler) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if peer, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			peerIP := peer.Addr().WithZone("").Unmap()
			if client := forwardedClient(peerIP, r.Header, trusted); client != peerIP {
				r = r.WithContext(context.WithValue(r.Context(), clientAddrKey{}, client.String()))
			}
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedClient is the client behind peer, by the rules above: the last
// address in the forwarding header that is not a trusted proxy, or the last
// hop known.
func forwardedClient(peer netip.Addr, h http.Header, trusted []netip.Prefix) netip.Addr {
	if !isTrusted(peer, trusted) {
		return peer // whatever the headers say
	}
	list, cut, syntax := forwardingHeader(h)
	client := peer
	for range maxForwardedHops {
		if list == "" || !isTrusted(client, trusted) {
			break
		}
		rest, entry, found := syntax.cutLast(list)
		if !found && cut {
			break // the start of an entry cut off by the bound: no address
		}
		list = rest
		if strings.TrimSpace(entry) == "" {
			continue // an empty list element, which RFC 9110 §5.6.1 allows
		}
		addr, ok := syntax.hop(entry)
		if !ok {
			break
		}
		client = addr
	}
	return client
}

// isTrusted reports whether addr is one of the trusted proxies.
func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// forwardingHeader is the header the client is read from, X-Forwarded-For
// or else Forwarded, its lines as one list of at most maxForwardedBytes
// from its end, whether some of it was cut off, and its syntax.
func forwardingHeader(h http.Header) (list string, cut bool, syntax headerSyntax) {
	if lines := h.Values("X-Forwarded-For"); len(lines) > 0 {
		list, cut = headerTail(lines)
		return list, cut, xForwardedForSyntax
	}
	list, cut = headerTail(h.Values("Forwarded"))
	return list, cut, forwardedSyntax
}

// headerTail joins the lines of a header into one comma-separated list, as
// RFC 9110 §5.3 says they mean, keeping at most maxForwardedBytes from its
// end; cut reports whether it dropped any.
func headerTail(lines []string) (list string, cut bool) {
	first, size := len(lines), 0
	for first > 0 && size <= maxForwardedBytes {
		first--
		size += len(lines[first]) + 1
	}
	list, cut = strings.Join(lines[first:], ","), first > 0
	if len(list) > maxForwardedBytes {
		list, cut = list[len(list)-maxForwardedBytes:], true
	}
	return list, cut
}
