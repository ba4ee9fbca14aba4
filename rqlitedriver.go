package main

// A database/sql driver for rqlite, a replicated SQLite that speaks HTTP,
// so that the store's SQL runs unchanged on a cluster (-db rqlite://...).
// This file is what database/sql sees: connections, statements and
// transactions. rqliteclient.go sends the requests and finds the leader;
// rqlitevalues.go turns Go values into rqlite's JSON and back.
//
// Why not rqlite's own Go client: its database/sql adapter makes Begin and
// Commit silent no-ops and hands every number over as a float64 (an id past
// 2^53 comes back wrong), and tokenapi keeps to the standard library and
// go-sqlite3.
//
// Transactions. rqlite has no interactive transaction: it runs a list of
// statements as one atomic request (its "transaction" flag), or none of
// them. So a Tx here buffers its Exec calls and sends them all at Commit,
// and it refuses what it could not do honestly: a read inside one (it is
// not isolated from other clients' writes, and could not see the Tx's
// own), and the LastInsertId or RowsAffected of a buffered write (unknown
// until Commit). A transaction is thus a multi-statement write, as the
// store's batched last-seen and session-use writes are. The one exception
// is a schema step (see withSchemaStep), which reads the version and then
// writes: it is safe without isolation because each step starts with a
// statement that fails if the step has run already (see migrate).
//
// Consistency. Every query is read at rqlite's "linearizable" level: the
// leader confirms with a quorum that it still leads before it reads, so a
// read sees every write acknowledged before it began, from any tokenapi
// process. That is what the service promises: a revocation acknowledged
// by one process is refused by all of them once their one-second caches
// lapse, and a user's own write is visible to their next read that
// reaches the database, whichever process serves it (a read another
// process answers from its cache may be up to a second older; see
// docs/cluster.md). "weak" would read on whichever node believes it leads:
// a leader cut off from the others keeps believing so for up to its lease,
// and would answer from before a newer leader's writes; "none" reads a
// follower that may lag; "strong" sends every read through the Raft log,
// a disk write per read for nothing more.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

func init() {
	sql.Register("rqlite", rqliteDriver{})
}

// rqliteScheme starts a -db value that names a cluster rather than a file.
const rqliteScheme = "rqlite://"

// isRqliteURL reports whether a -db value names an rqlite cluster.
func isRqliteURL(db string) bool { return strings.HasPrefix(db, rqliteScheme) }

// parseRqliteURL returns the host:port of each node in
// rqlite://host:port[,host:port...], or says which node is wrong and why.
// Its errors never repeat the -db value: a URL with user:password@ in it
// must not put the password in an error, and so in a log. A node that
// could not be sent a request is refused here, at start-up, rather than
// retried until the request's deadline.
func parseRqliteURL(db string) ([]string, error) {
	rest, ok := strings.CutPrefix(db, rqliteScheme)
	if !ok || rest == "" {
		return nil, errors.New("rqlite URL: want rqlite://host:port[,host:port...]")
	}
	nodes := strings.Split(rest, ",")
	for i, node := range nodes {
		if err := checkRqliteNode(node); err != nil {
			return nil, fmt.Errorf("rqlite URL: node %d of %d: %w", i+1, len(nodes), err)
		}
	}
	return nodes, nil
}

// checkRqliteNode checks one node of an rqlite URL. What it says of the
// node is only its host and port, and the port only once it is a number.
func checkRqliteNode(node string) error {
	if at := strings.LastIndexByte(node, '@'); at >= 0 {
		return fmt.Errorf("credentials in the URL are not supported (node %q): the driver speaks plain HTTP without authentication; keep the cluster on a private network", hostPortOnly(node[at+1:]))
	}
	if strings.ContainsAny(node, "/?#") {
		return fmt.Errorf("%q: want host:port only, with no path, query or fragment", hostPortOnly(node))
	}
	host, port, err := net.SplitHostPort(node)
	if err != nil || host == "" {
		return errors.New("want host:port, such as 10.0.0.1:4001")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("host %q: the port must be a number from 1 to 65535", host)
	}
	if u, err := url.Parse("http://" + node + "/"); err != nil || u.Host != node {
		return fmt.Errorf("%q is not a host:port an HTTP URL can name", node)
	}
	return nil
}

// hostPortOnly is s up to its first '/', '?' or '#'.
func hostPortOnly(s string) string {
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		return s[:i]
	}
	return s
}

type rqliteDriver struct{}

func (d rqliteDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector makes one client for every connection of a sql.DB, so they
// share what they learn of the leader and their keep-alive connections.
func (rqliteDriver) OpenConnector(dsn string) (driver.Connector, error) {
	nodes, err := parseRqliteURL(dsn)
	if err != nil {
		return nil, err
	}
	return &rqliteConnector{client: newRqliteClient(nodes)}, nil
}

type rqliteConnector struct{ client *rqliteClient }

func (c *rqliteConnector) Connect(context.Context) (driver.Conn, error) {
	return &rqliteConn{client: c.client}, nil
}

func (c *rqliteConnector) Driver() driver.Driver { return rqliteDriver{} }

// Close is called by sql.DB.Close.
func (c *rqliteConnector) Close() error {
	c.client.close()
	return nil
}

// rqliteConn is a connection as database/sql sees it. It holds nothing of
// its own but the transaction it is in: every request stands alone.
type rqliteConn struct {
	client *rqliteClient
	tx     *rqliteTx // nil outside a transaction
}

var (
	_ driver.ExecerContext      = (*rqliteConn)(nil)
	_ driver.QueryerContext     = (*rqliteConn)(nil)
	_ driver.ConnBeginTx        = (*rqliteConn)(nil)
	_ driver.Pinger             = (*rqliteConn)(nil)
	_ driver.NamedValueChecker  = (*rqliteConn)(nil)
	_ driver.ConnPrepareContext = (*rqliteConn)(nil)
)

func (c *rqliteConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext prepares nothing on the server: rqlite takes each
// statement's text with its arguments.
func (c *rqliteConn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	return &rqliteStmt{conn: c, query: query}, nil
}

func (c *rqliteConn) Close() error { return nil }

func (c *rqliteConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a buffered transaction (see the file comment). It refuses
// what it cannot give: a read-only transaction, or an isolation level.
func (c *rqliteConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly || opts.Isolation != driver.IsolationLevel(sql.LevelDefault) {
		return nil, errors.New("rqlite: a transaction is a list of writes sent at Commit; read-only transactions and isolation levels are not supported")
	}
	if c.tx != nil {
		return nil, errors.New("rqlite: a transaction is already open on this connection")
	}
	c.tx = &rqliteTx{conn: c, ctx: ctx, mayRead: ctx.Value(schemaStepKey{}) != nil}
	return c.tx, nil
}

// schemaStepKey marks the context of a schema step's transaction.
type schemaStepKey struct{}

// withSchemaStep is ctx for the transaction of one schema step, the only
// transaction in which the driver lets reads through (before its writes).
//
// Why a mark rather than a migrate that reads outside its transaction: on
// a SQLite file, reading the version inside the IMMEDIATE transaction is
// what keeps two processes starting at once from both running a step, so
// the read belongs there. On rqlite nothing can isolate it, and the step
// is made safe by its first statement instead (see migrate); that holds
// for schema steps only, so only migrate sets the mark, and any other read
// in a transaction is refused rather than left unisolated without a word.
func withSchemaStep(ctx context.Context) context.Context {
	return context.WithValue(ctx, schemaStepKey{}, true)
}

// CheckNamedValue takes the values database/sql would (int64, float64,
// bool, []byte, string, time.Time, nil) and refuses named arguments, which
// the store never uses.
func (c *rqliteConn) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Name != "" {
		return fmt.Errorf("rqlite: named argument %q: only ? placeholders are supported", nv.Name)
	}
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	nv.Value = v
	return err
}

func (c *rqliteConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	stmt, err := newRqliteStatement(query, args)
	if err != nil {
		return nil, err
	}
	if c.tx != nil {
		c.tx.stmts = append(c.tx.stmts, stmt)
		return bufferedResult{}, nil
	}
	results, err := c.client.execute(ctx, []rqliteStatement{stmt}, false)
	if err != nil {
		return nil, err
	}
	return results[0], nil
}

func (c *rqliteConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	switch {
	case c.tx != nil && !c.tx.mayRead:
		return nil, errors.New("rqlite: a transaction is a list of writes sent at Commit; a read inside one would not be isolated from other writers, so read before BeginTx")
	case c.tx != nil && len(c.tx.stmts) > 0:
		return nil, errors.New("rqlite: a query after a write in one transaction would not see that write (the writes are sent at Commit); read first")
	}
	stmt, err := newRqliteStatement(query, args)
	if err != nil {
		return nil, err
	}
	return c.client.query(ctx, stmt)
}

// Ping asks the cluster for a linearizable read: it answers only when a
// leader can confirm it leads.
func (c *rqliteConn) Ping(ctx context.Context) error {
	rows, err := c.QueryContext(ctx, "SELECT 1", nil)
	if err != nil {
		return err
	}
	return rows.Close()
}

// rqliteStmt is a statement's text; its arguments come with each call.
type rqliteStmt struct {
	conn  *rqliteConn
	query string
}

func (s *rqliteStmt) Close() error  { return nil }
func (s *rqliteStmt) NumInput() int { return -1 }

func (s *rqliteStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

func (s *rqliteStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

func (s *rqliteStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.conn.ExecContext(ctx, s.query, args)
}

func (s *rqliteStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.conn.QueryContext(ctx, s.query, args)
}

func namedValues(args []driver.Value) []driver.NamedValue {
	named := make([]driver.NamedValue, len(args))
	for i, v := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return named
}

// rqliteTx holds a transaction's writes until Commit sends them as one
// atomic request.
type rqliteTx struct {
	conn    *rqliteConn
	ctx     context.Context // BeginTx's, which bounds Commit
	mayRead bool            // a schema step's: see withSchemaStep
	stmts   []rqliteStatement
}

func (tx *rqliteTx) Commit() error {
	tx.conn.tx = nil
	if len(tx.stmts) == 0 {
		return nil
	}
	_, err := tx.conn.client.execute(tx.ctx, tx.stmts, true)
	return err
}

func (tx *rqliteTx) Rollback() error {
	tx.conn.tx = nil
	return nil
}

// bufferedResult is the result of a write held for Commit: nothing is
// known of it yet.
type bufferedResult struct{}

var errBufferedResult = errors.New("rqlite: the result of a write in a transaction is not known until Commit")

func (bufferedResult) LastInsertId() (int64, error) { return 0, errBufferedResult }
func (bufferedResult) RowsAffected() (int64, error) { return 0, errBufferedResult }
