package rqlite

// What database/sql sees: the driver, its connections, statements and
// transactions (see the package comment for what a transaction can do).

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
	sql.Register("rqlite", sqlDriver{})
}

// scheme starts a URL that names a cluster rather than a file.
const scheme = "rqlite://"

// IsURL reports whether s names an rqlite cluster, as
// rqlite://host:port[,host:port...] does, rather than a file. It checks
// the scheme only: sql.Open says what else is wrong with the URL.
func IsURL(s string) bool { return strings.HasPrefix(s, scheme) }

// parseURL returns the host:port of each node in
// rqlite://host:port[,host:port...], or says which node is wrong and why.
// Its errors never repeat the URL: a URL with user:password@ in it must
// not put the password in an error, and so in a log. A node that could
// not be sent a request is refused here, when the URL is opened, rather
// than retried until a request's deadline.
func parseURL(s string) ([]string, error) {
	rest, ok := strings.CutPrefix(s, scheme)
	if !ok || rest == "" {
		return nil, errors.New("rqlite URL: want rqlite://host:port[,host:port...]")
	}
	nodes := strings.Split(rest, ",")
	for i, node := range nodes {
		if err := checkNode(node); err != nil {
			return nil, fmt.Errorf("rqlite URL: node %d of %d: %w", i+1, len(nodes), err)
		}
	}
	return nodes, nil
}

// checkNode checks one node of an rqlite URL. What it says of the
// node is only its host and port, and the port only once it is a number.
func checkNode(node string) error {
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

type sqlDriver struct{}

func (d sqlDriver) Open(dsn string) (driver.Conn, error) {
	c, err := d.OpenConnector(dsn)
	if err != nil {
		return nil, err
	}
	return c.Connect(context.Background())
}

// OpenConnector makes one client for every connection of a sql.DB, so they
// share what they learn of the leader and their keep-alive connections.
func (sqlDriver) OpenConnector(dsn string) (driver.Connector, error) {
	nodes, err := parseURL(dsn)
	if err != nil {
		return nil, err
	}
	return &connector{client: newClient(nodes)}, nil
}

type connector struct{ client *client }

func (c *connector) Connect(context.Context) (driver.Conn, error) {
	return &conn{client: c.client}, nil
}

func (c *connector) Driver() driver.Driver { return sqlDriver{} }

// Close is called by sql.DB.Close.
func (c *connector) Close() error {
	c.client.close()
	return nil
}

// conn is a connection as database/sql sees it. It holds nothing of
// its own but the transaction it is in: every request stands alone.
type conn struct {
	client *client
	tx     *transaction // nil outside a transaction
}

var (
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
)

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

// PrepareContext prepares nothing on the server: rqlite takes each
// statement's text with its arguments.
func (c *conn) PrepareContext(_ context.Context, query string) (driver.Stmt, error) {
	return &prepared{conn: c, query: query}, nil
}

func (c *conn) Close() error { return nil }

func (c *conn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// BeginTx starts a buffered transaction (see the package comment). It refuses
// what it cannot give: a read-only transaction, or an isolation level.
func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if opts.ReadOnly || opts.Isolation != driver.IsolationLevel(sql.LevelDefault) {
		return nil, errors.New("rqlite: a transaction is a list of writes sent at Commit; read-only transactions and isolation levels are not supported")
	}
	if c.tx != nil {
		return nil, errors.New("rqlite: a transaction is already open on this connection")
	}
	c.tx = &transaction{conn: c, ctx: ctx, mayRead: ctx.Value(schemaStepKey{}) != nil}
	return c.tx, nil
}

// schemaStepKey marks the context of a schema step's transaction.
type schemaStepKey struct{}

// WithSchemaStep returns ctx marked for the transaction of one schema
// migration step: a transaction begun with it may read, before its first
// write, where any other transaction refuses a read.
//
// Nothing on rqlite isolates that read from other writers, so the mark is
// for a step made safe another way, and only for one: a step that reads
// the schema version and then writes, and whose first write fails when
// the step has run already (CREATE TABLE, ALTER TABLE ... ADD COLUMN), so
// that of two processes migrating at once, the second's step fails whole
// rather than running twice. Why a mark rather than a migration that reads
// outside its transaction: on a SQLite file, reading the version inside
// the IMMEDIATE transaction is what keeps two processes starting at once
// from both running a step, so the read belongs there, and the same
// migration runs on either driver. Any other read in a transaction is
// refused rather than left unisolated without a word.
func WithSchemaStep(ctx context.Context) context.Context {
	return context.WithValue(ctx, schemaStepKey{}, true)
}

// CheckNamedValue takes the values database/sql would (int64, float64,
// bool, []byte, string, time.Time, nil) and refuses named arguments: the
// driver sends arguments by position only.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if nv.Name != "" {
		return fmt.Errorf("rqlite: named argument %q: only ? placeholders are supported", nv.Name)
	}
	v, err := driver.DefaultParameterConverter.ConvertValue(nv.Value)
	nv.Value = v
	return err
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	stmt, err := newStatement(query, args)
	if err != nil {
		return nil, err
	}
	if c.tx != nil {
		c.tx.stmts = append(c.tx.stmts, stmt)
		return bufferedResult{}, nil
	}
	results, err := c.client.execute(ctx, []statement{stmt}, false)
	if err != nil {
		return nil, err
	}
	return results[0], nil
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	switch {
	case c.tx != nil && !c.tx.mayRead:
		return nil, errors.New("rqlite: a transaction is a list of writes sent at Commit; a read inside one would not be isolated from other writers, so read before BeginTx")
	case c.tx != nil && len(c.tx.stmts) > 0:
		return nil, errors.New("rqlite: a query after a write in one transaction would not see that write (the writes are sent at Commit); read first")
	}
	stmt, err := newStatement(query, args)
	if err != nil {
		return nil, err
	}
	return c.client.query(ctx, stmt)
}

// Ping asks the cluster for a linearizable read: it answers only when a
// leader can confirm it leads.
func (c *conn) Ping(ctx context.Context) error {
	rows, err := c.QueryContext(ctx, "SELECT 1", nil)
	if err != nil {
		return err
	}
	return rows.Close()
}

// prepared is a statement's text; its arguments come with each call.
type prepared struct {
	conn  *conn
	query string
}

func (s *prepared) Close() error  { return nil }
func (s *prepared) NumInput() int { return -1 }

func (s *prepared) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), namedValues(args))
}

func (s *prepared) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), namedValues(args))
}

func (s *prepared) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.conn.ExecContext(ctx, s.query, args)
}

func (s *prepared) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.conn.QueryContext(ctx, s.query, args)
}

func namedValues(args []driver.Value) []driver.NamedValue {
	named := make([]driver.NamedValue, len(args))
	for i, v := range args {
		named[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return named
}

// transaction holds a transaction's writes until Commit sends them as one
// atomic request.
type transaction struct {
	conn    *conn
	ctx     context.Context // BeginTx's, which bounds Commit
	mayRead bool            // a schema step's: see WithSchemaStep
	stmts   []statement
}

func (tx *transaction) Commit() error {
	tx.conn.tx = nil
	if len(tx.stmts) == 0 {
		return nil
	}
	_, err := tx.conn.client.execute(tx.ctx, tx.stmts, true)
	return err
}

func (tx *transaction) Rollback() error {
	tx.conn.tx = nil
	return nil
}

// bufferedResult is the result of a write held for Commit: nothing is
// known of it yet.
type bufferedResult struct{}

var errBufferedResult = errors.New("rqlite: the result of a write in a transaction is not known until Commit")

func (bufferedResult) LastInsertId() (int64, error) { return 0, errBufferedResult }
func (bufferedResult) RowsAffected() (int64, error) { return 0, errBufferedResult }
