//go:build tools

// Package tools pins rqlited, the rqlite server that tokenapi's cluster tests
// and the "Running on a cluster" recipe use. It is never compiled into
// tokenapi: the build tag keeps it out of every normal build, and its own
// go.mod keeps rqlite's dependencies out of the service's.
//
// rqlite v8 is used on purpose: v9 is not under an open-source licence.
package tools

import _ "github.com/rqlite/rqlite/v8/cmd/rqlited"
