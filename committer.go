package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// Group commit: writes that share their syncs.
//
// Every write of the store on a SQLite file is a job, its statements as a
// function of a transaction, handed to one committer goroutine, which owns
// the write connection. With synchronous=FULL a commit is an fsync, the
// cost of a write: one job a transaction, writes queue behind each other's
// fsyncs, and the disk, not the CPU, sets the rate. So the committer takes
// the first job, begins a transaction, then takes every job already
// waiting (up to maxGroup), and commits them all with one fsync. The jobs
// that arrive during that commit wait for the next one, which takes them
// all again: the busier the server, the more writes share each sync.
//
// What a client sees stays as it was:
//   - Each job runs in a SAVEPOINT of its own. A job that fails is rolled
//     back to its savepoint and answered with its error; the others in the
//     transaction commit (a taken username fails that sign-up only).
//   - A job is answered after the commit that holds it returns, with the
//     commit's error if it failed: a handler sends its 2xx only once its
//     write is durable, and a kill -9 loses no acknowledged write.
//   - A job is atomic, as a transaction was: the store's multi-statement
//     writes (the caching store's batched uses, a counted event, a password
//     reset with its mail) are one job each (execAtomic), as is each batch
//     of a sweep, so writes of other requests go between two batches.
//   - A job whose context is done when its turn comes is answered with the
//     context's error without running. Once it runs it runs to its end with
//     the cancellation ignored: SQLite answers an interrupted write in a
//     transaction by rolling back the whole transaction, the other jobs'
//     writes with it.
//
// rqlite has no local fsync to share and no savepoints: there the store's
// writes go to the database as before (sqlStore.exec and execAtomic).
type committer struct {
	db *sql.DB // the write pool, of one connection

	// mu guards closed and sends on jobs: Close closes jobs under it,
	// once no send is under way.
	mu     sync.RWMutex
	closed bool
	jobs   chan *writeJob
	done   chan struct{} // closed when run has answered every job and returned

	// For tests, when set: beforeGroup is called as each group begins,
	// with its first job taken and the others not yet; beforeCommit before
	// each commit, with its number of jobs.
	beforeGroup  atomic.Pointer[func()]
	beforeCommit atomic.Pointer[func(jobs int)]

	writes, commits atomic.Uint64 // jobs run, transactions committed
}

// maxGroup bounds the jobs of one transaction, so that one commit's
// answers never wait for a queue without end.
const maxGroup = 128

// writeJob is one write: run, its statements, on a transaction, and then
// the answer on result.
type writeJob struct {
	ctx    context.Context
	run    func(ctx context.Context, tx execer) error
	result chan error
}

var (
	// errStoreClosed answers a write that comes after Close.
	errStoreClosed = errors.New("store is closed")
	// errWritePanicked answers a write whose job panicked (runJob).
	errWritePanicked = errors.New("write panicked")
)

func newCommitter(db *sql.DB) *committer {
	c := &committer{db: db, jobs: make(chan *writeJob, maxGroup), done: make(chan struct{})}
	go c.run()
	return c
}

// do runs f as one job of a group transaction and returns its error, or
// the commit's, once the transaction that holds it has committed (or
// rolled back). It waits for that answer even if ctx ends meanwhile: a
// caller learns whether its write is durable, and the wait is one commit.
func (c *committer) do(ctx context.Context, f func(ctx context.Context, tx execer) error) error {
	job := &writeJob{ctx: ctx, run: f, result: make(chan error, 1)}
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return errStoreClosed
	}
	select {
	case c.jobs <- job:
	case <-ctx.Done():
		c.mu.RUnlock()
		return ctx.Err()
	}
	c.mu.RUnlock()
	return <-job.result
}

// close lets the jobs already handed over run and commit, then stops the
// committer. A write that comes later gets errStoreClosed.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.jobs)
	}
	c.mu.Unlock()
	<-c.done
}

// waiting is how many jobs wait for the committer to take them, for tests.
func (c *committer) waiting() int { return len(c.jobs) }

// run is the committer: one group transaction after another, until jobs
// is closed and drained.
func (c *committer) run() {
	defer close(c.done)
	for first := range c.jobs {
		c.commitGroup(first)
	}
}

// commitGroup runs first and every job waiting behind it, up to maxGroup,
// in one transaction, commits it, and answers each job.
func (c *committer) commitGroup(first *writeJob) {
	if hook := c.beforeGroup.Load(); hook != nil {
		(*hook)()
	}
	tx, err := c.db.BeginTx(context.Background(), nil)
	if err != nil {
		first.result <- err
		return
	}
	group := make([]*writeJob, 0, 8)
	errs := make([]error, 0, 8)
	for job := first; job != nil; job = c.next(len(group)) {
		group = append(group, job)
		err, fatal := runInSavepoint(tx, job)
		errs = append(errs, err)
		if fatal != nil { // the transaction is lost, and every write in it
			tx.Rollback()
			answerAll(group, fatal)
			return
		}
	}
	if hook := c.beforeCommit.Load(); hook != nil {
		(*hook)(len(group))
	}
	if err := tx.Commit(); err != nil {
		answerAll(group, err)
		return
	}
	c.writes.Add(uint64(len(group)))
	c.commits.Add(1)
	for i, job := range group {
		job.result <- errs[i]
	}
}

// next is a job that is waiting, if there is one and the group of n jobs
// has room for it; nil otherwise.
func (c *committer) next(n int) *writeJob {
	if n >= maxGroup {
		return nil
	}
	select {
	case job := <-c.jobs:
		return job // nil when jobs is closed
	default:
		return nil
	}
}

// runInSavepoint runs job in a savepoint of tx and returns its error, with
// its writes undone if it failed. fatal is not nil when tx itself can no
// longer commit.
func runInSavepoint(tx *sql.Tx, job *writeJob) (err, fatal error) {
	if err := job.ctx.Err(); err != nil {
		return err, nil
	}
	ctx := context.WithoutCancel(job.ctx)
	if _, err := tx.ExecContext(ctx, "SAVEPOINT job"); err != nil {
		return nil, err
	}
	err = runJob(ctx, tx, job)
	if err != nil {
		if _, rerr := tx.ExecContext(ctx, "ROLLBACK TO job"); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
	}
	if _, rerr := tx.ExecContext(ctx, "RELEASE job"); rerr != nil {
		return nil, errors.Join(err, rerr)
	}
	return err, nil
}

// runJob runs job's statements on tx. A job that panics is a bug in it,
// answered as an error of its own and undone like one, rather than the
// end of the committer, and with it of every write of the server.
func runJob(ctx context.Context, tx execer, job *writeJob) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: %v\n%s", errWritePanicked, p, debug.Stack())
		}
	}()
	return job.run(ctx, tx)
}

func answerAll(group []*writeJob, err error) {
	for _, job := range group {
		job.result <- err
	}
}

// exec runs f, a write of one statement, and returns its error once the
// write is durable: on a SQLite file as a job of a group transaction, on
// rqlite on the database itself, a request of its own as before.
func (s *sqlStore) exec(ctx context.Context, f func(ctx context.Context, db execer) error) error {
	if s.commits == nil {
		return f(ctx, s.write)
	}
	return s.commits.do(ctx, f)
}

// execAtomic runs f, a write of several statements that must land together
// or not at all: on a SQLite file as one job, which its savepoint makes
// atomic, on rqlite in a transaction of its own.
func (s *sqlStore) execAtomic(ctx context.Context, f func(ctx context.Context, tx execer) error) error {
	if s.commits != nil {
		return s.commits.do(ctx, f)
	}
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := f(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

// writeCounts are the writes committed and the commits that held them, for
// /debug/vars: zero on rqlite, which commits each write itself.
func (s *sqlStore) writeCounts() (writes, commits uint64) {
	if s.commits == nil {
		return 0, 0
	}
	return s.commits.writes.Load(), s.commits.commits.Load()
}

// execResult runs one statement as a write (see exec) and returns its
// result, read inside the job: the rows it changed and the id it inserted.
func (s *sqlStore) execResult(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var r writeResult
	err := s.exec(ctx, func(ctx context.Context, db execer) error {
		res, err := db.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		r.id, r.idErr = res.LastInsertId()
		r.rows, r.rowsErr = res.RowsAffected()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// writeResult is the sql.Result of a statement, as read in its job.
type writeResult struct {
	id, rows       int64
	idErr, rowsErr error
}

func (r writeResult) LastInsertId() (int64, error) { return r.id, r.idErr }
func (r writeResult) RowsAffected() (int64, error) { return r.rows, r.rowsErr }
