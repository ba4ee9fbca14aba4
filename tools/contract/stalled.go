package main

import (
	"os"
	"syscall"
)

// databaseStalledTraffic brings about GET /healthz's 503: the database
// stops answering while another process holds every read lock of its WAL
// index, the eight lock bytes at offset 120 of the -shm file
// (https://sqlite.org/walformat.html#locks), as a stuck process on the
// same file could. The server's readers cannot start a read then: SQLite
// retries for about 10 s and gives up, and the ping fails. The locks are
// POSIX record locks, the kind SQLite takes, so this process's lock holds
// against the server's; closing the file lets go, and the database
// answers again.
func databaseStalledTraffic(r *runner, shmPath string) {
	f, err := os.OpenFile(shmPath, os.O_RDWR, 0)
	if err != nil {
		r.fail("holding the WAL index's read locks: %v", err)
		return
	}
	readLocks := syscall.Flock_t{Type: syscall.F_WRLCK, Whence: 0, Start: 120, Len: 8}
	if err := syscall.FcntlFlock(f.Fd(), syscall.F_SETLK, &readLocks); err != nil {
		f.Close()
		r.fail("holding the WAL index's read locks: %v", err)
		return
	}
	r.expect(503, "GET /healthz", "/healthz")
	f.Close()
	r.expect(200, "GET /healthz", "/healthz")
}
