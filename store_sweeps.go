package main

import "context"

// sweepBatch is how many rows a sweep deletes a statement. The store has
// one write connection (see openStore), and a statement holds it, and the
// database's write lock, until it is done: a million expired sessions
// deleted in one statement held every write for seconds, on a slow disk
// for most of a minute. A thousand rows take a few milliseconds, after
// which a waiting write goes.
const sweepBatch = 1000

// sweepOptions are how the sweeps delete: batch rows a statement
// (sweepBatch when zero), and beforeBatch, when not nil, called with each
// batch's number, from 1, before it runs. Both are for tests, which lower
// the batch to see many batches and use the hook to write between them.
type sweepOptions struct {
	batch       int
	beforeBatch func(n int)
}

// deleteInBatches runs query, a DELETE of at most a batch of rows whose
// last parameter is that batch's size, again and again with args, each
// time a statement of its own, until a statement deletes fewer rows than a
// batch or ctx ends. It returns how many rows it deleted in all.
//
// Each statement is a write job of its own (committer.go), so a write
// waiting for the committer goes with the next batch or before it. A sweep
// stopped half way has deleted only rows it was meant to: the next sweep
// deletes the rest.
func (s *sqlStore) deleteInBatches(ctx context.Context, query string, args ...any) (int64, error) {
	batch := s.sweeps.batch
	if batch <= 0 {
		batch = sweepBatch
	}
	args = append(args, batch)
	var total int64
	for n := 1; ; n++ {
		if s.sweeps.beforeBatch != nil {
			s.sweeps.beforeBatch(n)
		}
		if err := ctx.Err(); err != nil {
			return total, err
		}
		res, err := s.execResult(ctx, query, args...)
		if err != nil {
			return total, err
		}
		deleted, err := res.RowsAffected()
		if err != nil {
			return total, err
		}
		total += deleted
		if deleted < int64(batch) {
			return total, nil
		}
	}
}
