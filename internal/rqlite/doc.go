// Package rqlite is a database/sql driver for rqlite (https://rqlite.io), a
// replicated SQLite that speaks HTTP, so that SQL written for SQLite runs
// unchanged on a cluster. Importing the package registers the driver as
// "rqlite"; a URL names the cluster's nodes by their HTTP addresses:
//
//	import _ "tokenapi/internal/rqlite"
//
//	db, err := sql.Open("rqlite", "rqlite://10.0.0.1:4001,10.0.0.2:4001,10.0.0.3:4001")
//
// IsURL tells such a URL from a file name. A bad URL is refused when it is
// opened, with the node at fault and why, and never with the URL itself,
// which may hold a password (refused too: the driver speaks plain HTTP
// without authentication, so the cluster belongs on a private network).
//
// Each request goes to the node that led last time and follows a
// follower's redirect to the leader, but only to a node the URL names: the
// URL alone says where statements may go. While the cluster has no leader
// a request waits for one within its context's deadline (10 s without
// one), and then fails with ErrUnavailable, as does a write whose answer
// was lost, which is never sent twice: it may have been applied. A node's
// answer is read up to 8 MiB; a larger one is an error, never cut short.
// Whatever a node answers, faulty or hostile, costs about twice its size
// in memory while it is read, and then its size and its column names:
// rows stay the answer's JSON text, checked whole when it comes and
// turned into Go values one row at a time as Next reads them. An answer
// is refused whole when a row has more or fewer values than there are
// columns, when there are more columns than SQLite allows (32767), or
// when it is not rqlite's JSON; results beyond one per statement are
// counted, not decoded.
// SQL errors carry SQLite's own text, as go-sqlite3 gives it ("UNIQUE
// constraint failed: users.username"), so code that matches on it works
// on either driver; any text of a node's is cut to 256 bytes.
//
// Values. Integers travel as JSON number text and come back as int64, so
// an id past 2^53 stays exact. Columns
// come back as database/sql expects of a SQLite driver: int64, float64,
// string, []byte or nil. Arguments take ? placeholders; named ones are
// refused.
//
// Transactions. rqlite has no interactive transaction: it runs a list of
// statements as one atomic request (its "transaction" flag), or none of
// them. So a Tx here buffers its Exec calls and sends them all at Commit,
// and it refuses what it could not do honestly: a read inside one (it is
// not isolated from other clients' writes, and could not see the Tx's
// own), the LastInsertId or RowsAffected of a buffered write (unknown
// until Commit), read-only transactions and isolation levels. A
// transaction is thus a multi-statement write. The one exception is a
// schema migration step begun with a context from WithSchemaStep, which
// may read the schema version before it writes.
//
// Consistency. Every query is read at rqlite's "linearizable" level: the
// leader confirms with a quorum that it still leads before it reads, so a
// read sees every write acknowledged before it began, from any client of
// the cluster. tokenapi relies on that: a revocation acknowledged by one
// process is refused by all of them once their one-second caches lapse,
// and a user's own write is visible to their next read that reaches the
// database, whichever process serves it (see docs/cluster.md). "weak"
// would read on whichever node believes it leads: a leader cut off from
// the others keeps believing so for up to its lease, and would answer
// from before a newer leader's writes; "none" reads a follower that may
// lag; "strong" sends every read through the Raft log, a disk write per
// read for nothing more.
//
// Why not rqlite's own Go client: its database/sql adapter makes Begin and
// Commit silent no-ops and hands every number over as a float64 (an id past
// 2^53 comes back wrong), and tokenapi keeps to the standard library and
// go-sqlite3.
//
// driver.go is what database/sql sees: connections, statements and
// transactions. client.go sends the requests and finds the leader;
// answer.go reads and checks a node's answer within that budget, walking
// its JSON in place with jsontext.go; values.go turns Go values into
// rqlite's JSON and rows back into Go values; errors.go is what the
// driver says when a request fails.
package rqlite
