// Package tools pins rqlite v8.43.4, which build.sh builds into a cache
// directory for the cluster tests and cluster.sh runs. It holds no code of
// its own: tools.go, behind the tools build tag, imports rqlited so that
// this module's go.mod and go.sum name the exact versions to build.
package tools
