package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// backupWriters and backupMaxPosts bound the write load of
// TestAdminBackupUnderWriteLoad: it stops once the backup is done, or
// once the writers have made backupMaxPosts posts.
const (
	backupWriters  = 4
	backupMaxPosts = 5000
	backupOldPosts = 20000 // a few megabytes, so that the copy takes a while
)

// insertPosts gives the first user n posts of a few hundred bytes,
// straight into the database the program in dir is using.
func insertPosts(t *testing.T, dir string, n int) {
	t.Helper()
	st, err := openStore(context.Background(), filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.write.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO posts (title, body, timestamp, user_id) SELECT 'old post ' || i, printf('%.300c', 'x'), ?, 1 FROM n`,
		n, formatTime(time.Now())); err != nil {
		t.Fatal(err)
	}
}

// TestAdminBackupUnderWriteLoad backs up the database of a running server
// while writers create posts through its API, as fast as it answers. The
// copy must pass PRAGMA integrity_check and hold every post whose 201 came
// back before the backup began; then a server started on the copy (a
// restore) serves them.
func TestAdminBackupUnderWriteLoad(t *testing.T) {
	p, dir := startAdminServer(t)
	_, token := p.newUser(t, "muthoni")
	p.createPost(t, token, "the first", "made before any load")
	insertPosts(t, dir, backupOldPosts)

	load := startPostLoad(t, p, token)
	// Let the load start, then take what was acknowledged so far: the
	// backup begins after this.
	for len(load.acked()) < 20 && !t.Failed() {
		p.call(t, "GET", "/healthz", "", "")
	}
	before := load.acked()
	out := runOK(t, dir, "", "backup", "-json", "copy.db")
	load.stop()
	t.Logf("%d posts acknowledged before the backup began, %d in all", len(before), len(load.acked()))

	var got backupResult
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("tokenapi backup -json printed %q: %v", out, err)
	}
	copyPath := filepath.Join(dir, "copy.db")
	info, err := os.Stat(copyPath)
	if err != nil {
		t.Fatal(err)
	}
	// It names the key that sealed the TOTP secrets, which the copy does
	// not hold (a relative -db gives a relative name).
	wantJSON(t, "tokenapi backup -json", got, backupResult{File: copyPath, Bytes: info.Size(), SchemaVersion: len(schemaSteps),
		SecretKey: "tokenapi.db.key"})
	if info.Mode().Perm() != 0o600 {
		t.Errorf("the copy's mode is %v, want -rw------- (it holds the password hashes)", info.Mode().Perm())
	}

	checkIntegrity(t, copyPath)
	inCopy := map[int64]bool{}
	rows, err := openReadOnly(t, copyPath).Query("SELECT id FROM posts")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		inCopy[id] = true
	}
	rows.Close()
	if len(inCopy) < 1+backupOldPosts+len(before) {
		t.Errorf("the copy holds %d posts, want at least the %d made before the backup began", len(inCopy), 1+backupOldPosts+len(before))
	}
	for _, id := range before {
		if !inCopy[id] {
			t.Errorf("post %d was acknowledged before the backup began, and the copy lacks it", id)
		}
	}

	// A restore is a server started on the copy.
	// A server on the copy needs that key.
	restored := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", copyPath,
		"-secret-key-file", filepath.Join(dir, "tokenapi.db.key")}, cheapPasswords)
	wantStatus(t, "GET a post of the copy", restored.call(t, "GET", fmt.Sprintf("/api/posts/%d", before[len(before)-1]), token, ""), http.StatusOK)
}

// postLoad is writers posting through a program's API as fast as it
// answers, until stopped or backupMaxPosts posts are made.
type postLoad struct {
	mu      sync.Mutex
	ids     []int64 // of the posts created, in the order their 201s came
	halt    chan struct{}
	writers sync.WaitGroup
}

func startPostLoad(t *testing.T, p *program, token string) *postLoad {
	l := &postLoad{halt: make(chan struct{})}
	for w := range backupWriters {
		l.writers.Add(1)
		go func() {
			defer l.writers.Done()
			for i := 0; l.running(); i++ {
				res, err := p.do("POST", "/api/posts", fmt.Sprintf(`{"title": "post %d of writer %d", "body": "load"}`, i, w), bearer(token))
				if err != nil || res.status != http.StatusCreated {
					t.Errorf("POST /api/posts under load = %v (%v), want 201", res.status, err)
					return
				}
				var post struct{ ID int64 }
				json.Unmarshal(res.body, &post)
				l.mu.Lock()
				l.ids = append(l.ids, post.ID)
				l.mu.Unlock()
			}
		}()
	}
	return l
}

// running reports whether the writers go on.
func (l *postLoad) running() bool {
	select {
	case <-l.halt:
		return false
	default:
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.ids) < backupMaxPosts
	}
}

// acked returns the posts whose 201 came back so far.
func (l *postLoad) acked() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.ids...)
}

// stop stops the writers and waits for them.
func (l *postLoad) stop() {
	close(l.halt)
	l.writers.Wait()
}

// TestAdminBackupRefuses checks what tokenapi backup refuses, each with
// exit code 1 (2 for a command line it cannot run), one line that says
// why, and nothing written: an existing file, empty or not, or a
// directory, is left as it was; no file is left behind for a database it
// cannot copy.
func TestAdminBackupRefuses(t *testing.T) {
	p, dir := startAdminServer(t)
	p.newUser(t, "gitau")
	os.WriteFile(filepath.Join(dir, "taken.db"), []byte("keep me"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.db"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a database"), 0o644)
	os.Mkdir(filepath.Join(dir, "folder"), 0o755)

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"an existing file", []string{"-db", "tokenapi.db", "backup", "taken.db"}, 1, "taken.db exists; a backup never overwrites a file"},
		{"an existing empty file", []string{"-db", "tokenapi.db", "backup", "empty.db"}, 1, "empty.db exists"},
		{"a directory", []string{"-db", "tokenapi.db", "backup", "folder"}, 1, "folder exists"},
		{"the database itself", []string{"-db", "tokenapi.db", "backup", "tokenapi.db"}, 1, "tokenapi.db exists"},
		{"a missing directory", []string{"-db", "tokenapi.db", "backup", "nowhere/copy.db"}, 1, "nowhere/copy.db: no such file or directory"},
		{"a database that is not tokenapi's", []string{"-db", "notes.txt", "backup", "copy1.db"}, 1, "database notes.txt is not a SQLite database"},
		{"a database that does not exist", []string{"-db", "missing.db", "backup", "copy2.db"}, 1, "database missing.db does not exist"},
		{"no file", []string{"-db", "tokenapi.db", "backup"}, 2, "backup needs a FILE"},
		{"two files", []string{"-db", "tokenapi.db", "backup", "a.db", "b.db"}, 2, `backup takes only FILE, but got "b.db" too`},
		{"rqlite", []string{"-db", "rqlite://10.0.0.1:4001,10.0.0.2:4001", "backup", "copy3.db"}, 1,
			"use rqlite's own backup, which any node serves: curl -s 10.0.0.1:4001/db/backup -o 'copy3.db'"},
	} {
		stdout, stderr, code := runProgram(t, dir, "", tc.args...)
		if code != tc.code || !strings.Contains(stderr, tc.want) || stdout != "" {
			t.Errorf("%s: tokenapi %s: exit code %d, stdout %q, stderr %q; want %d and %q",
				tc.name, strings.Join(tc.args, " "), code, stdout, stderr, tc.code, tc.want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "taken.db")); string(b) != "keep me" {
		t.Errorf("taken.db holds %q after a refused backup, want %q", b, "keep me")
	}
	if info, _ := os.Stat(filepath.Join(dir, "empty.db")); info == nil || info.Size() != 0 || info.Mode().Perm() != 0o644 {
		t.Errorf("empty.db after a refused backup: %v, want it as it was", info)
	}
	for _, name := range []string{"copy1.db", "copy2.db", "copy3.db", "a.db", "b.db", "missing.db"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			t.Errorf("a refused backup left %s behind", name)
		}
	}
}

// TestVacuumIntoRefusesAFile checks the second guard against overwriting:
// should a file appear at the backup's name after the backup made it
// (empty), VACUUM INTO refuses to write over it, whether it is a database
// or not.
func TestVacuumIntoRefusesAFile(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"tokenapi.db", "other.db"} {
		st, err := openStore(context.Background(), filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
	}
	db, err := openFileToRead(filepath.Join(dir, "tokenapi.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("someone else's"), 0o644)
	for _, tc := range []struct{ name, want string }{
		{"other.db", "output file already exists"},
		{"notes.txt", "file is not a database"},
	} {
		out := filepath.Join(dir, tc.name)
		was, _ := os.ReadFile(out)
		if _, err := vacuumInto(context.Background(), db, out); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("VACUUM INTO %s: %v, want SQLite's refusal (%s)", tc.name, err, tc.want)
		}
		if now, _ := os.ReadFile(out); string(now) != string(was) {
			t.Errorf("%s changed after VACUUM INTO refused it", tc.name)
		}
	}
}

// TestRqliteBackupNamesRqlites runs tokenapi backup on a cluster: it
// refuses, with exit code 1, and names rqlite's own backup; the command it
// names, run as it is printed, makes a copy a server starts on (a restore
// onto a file).
func TestRqliteBackupNamesRqlites(t *testing.T) {
	url := needRqlite(t)
	p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", url}, cheapPasswords)
	id, token := p.newUser(t, "amara")
	dir := t.TempDir()
	_, stderr, code := runProgram(t, dir, "", "-db", url, "backup", "cluster.db")
	const advice = "use rqlite's own backup, which any node serves: "
	_, command, found := strings.Cut(strings.TrimSpace(stderr), advice)
	if code != 1 || !found {
		t.Fatalf("tokenapi backup on a cluster: exit %d, stderr %q; want 1 and %q", code, stderr, advice)
	}
	cmd := exec.Command("bash", "-c", command)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	restored := startProgram(t, dir, []string{"-addr", "127.0.0.1:0", "-db", "cluster.db"}, cheapPasswords,
		secretKeyEnv+"="+testSecretKey) // the cluster's key: a copy holds none
	wantStatus(t, "GET /api/users/{id} on a server started on rqlite's backup", restored.call(t, "GET", userPath(id), token, ""), http.StatusOK)
}
