package main

import (
	"net"
	"net/netip"
)

// sameListenAddr reports whether listening on a and on b would take the
// same port on a same address: equal ports, other than 0 (any free port),
// on equal hosts or where one host is every address. Two names of one
// host, such as localhost and 127.0.0.1, pass here and fail at the
// second listen instead, as an address in use.
func sameListenAddr(a, b string) bool {
	hostA, portA, errA := net.SplitHostPort(a)
	hostB, portB, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil {
		return a == b
	}
	if portA != portB || portA == "0" {
		return false
	}
	return hostA == hostB || anyHost(hostA) || anyHost(hostB)
}

// anyHost reports whether a listen address's host means every address.
func anyHost(host string) bool {
	ip, err := netip.ParseAddr(host)
	return host == "" || err == nil && ip.IsUnspecified()
}
