package main

// Crosses the whole program: a three-node rqlite cluster loses its leader under writes.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The leader of the cluster is killed with SIGKILL while several clients
// write posts through two tokenapi processes: writes resume once the others
// elect a new leader (within 5 s), no write that was acknowledged is lost,
// and no client gets a 500; a write caught in the election gets 503 with
// Retry-After. The test runs a cluster of its own, which it may break.
func TestRqliteFailover(t *testing.T) {
	clusterDir := t.TempDir()
	url := startTestCluster(t, clusterDir)
	args := []string{"-addr", "127.0.0.1:0", "-db", url}
	servers := []*program{
		startProgram(t, t.TempDir(), args, cheapPasswords),
		startProgram(t, t.TempDir(), args, cheapPasswords),
	}
	const writers = 6
	tokens := make([]string, writers)
	for i := range tokens {
		_, tokens[i] = servers[i%2].newUser(t, fmt.Sprintf("writer%d", i))
	}

	type outcome struct {
		title    string
		status   int
		retry    string
		sent, at time.Time
	}
	var mu sync.Mutex
	var outcomes []outcome
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				title := fmt.Sprintf("w%d-%d", w, n)
				sent := time.Now()
				res, err := servers[(w+n)%2].do("POST", "/api/posts",
					fmt.Sprintf(`{"title": %q, "body": "b"}`, title), bearer(tokens[w]))
				o := outcome{title: title, status: res.status, sent: sent, at: time.Now()}
				if err != nil {
					o.status = -1
				} else {
					o.retry = res.header.Get("Retry-After")
				}
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if o.status != http.StatusCreated {
					time.Sleep(100 * time.Millisecond) // as a client told to come back would
				}
			}
		}()
	}

	time.Sleep(time.Second)
	leader := clusterLeader(t, url)
	pid, err := os.ReadFile(filepath.Join(clusterDir, leader+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	killed := time.Now()
	if err := syscall.Kill(n, syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9 the leader %s: %v", leader, err)
	}
	// Write on until 3 s after the first write sent after the kill went
	// through, or 20 s.
	var resumed time.Time
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		mu.Lock()
		for _, o := range outcomes {
			if o.status == http.StatusCreated && o.sent.After(killed) && (resumed.IsZero() || o.at.Before(resumed)) {
				resumed = o.at
			}
		}
		mu.Unlock()
		if !resumed.IsZero() && time.Since(resumed) > 3*time.Second {
			break
		}
	}
	close(stop)
	wg.Wait()

	// The cluster settles on its two nodes; every acknowledged post is in it.
	db, ctx := rqliteDB(t, url), testRqliteContext(t)
	stored := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT title FROM posts`)
	if err != nil {
		t.Fatalf("read the posts back: %v", err)
	}
	titles, err := scanAll(rows, func(row scanner) (string, error) {
		var s string
		err := row.Scan(&s)
		return s, err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range titles {
		stored[title] = true
	}
	counts := map[int]int{}
	lost, unknownApplied := 0, 0
	for _, o := range outcomes {
		counts[o.status]++
		switch {
		case o.status == http.StatusCreated && !stored[o.title]:
			lost++
			t.Errorf("post %s was acknowledged and is not in the cluster", o.title)
		case o.status == http.StatusServiceUnavailable && o.retry == "":
			t.Errorf("post %s: 503 without Retry-After", o.title)
		case o.status == http.StatusServiceUnavailable && stored[o.title]:
			unknownApplied++
		case o.status != http.StatusCreated && o.status != http.StatusServiceUnavailable:
			t.Errorf("post %s: status %d, want 201, or 503 with Retry-After", o.title, o.status)
		}
	}
	if resumed.IsZero() {
		t.Fatalf("no write went through after the leader was killed; outcomes by status: %v", counts)
	}
	rqliteTestFigure(t, "failover: leader %s killed; writes resumed after %v; %d writes acknowledged (%d lost), %d answered 503 (%d of those applied all the same), other: %v",
		leader, resumed.Sub(killed).Round(time.Millisecond), counts[http.StatusCreated], lost,
		counts[http.StatusServiceUnavailable], unknownApplied, otherStatuses(counts))
	if d := resumed.Sub(killed); d > 5*time.Second {
		t.Errorf("writes resumed %v after the leader was killed, want within 5s", d)
	}
}

func otherStatuses(counts map[int]int) map[int]int {
	other := map[int]int{}
	for status, n := range counts {
		if status != http.StatusCreated && status != http.StatusServiceUnavailable {
			other[status] = n
		}
	}
	return other
}

// startTestCluster starts a three-node cluster of its own in dir with
// tools/rqlite/cluster.sh, stopped when the test ends, and returns its URL.
func startTestCluster(t *testing.T, dir string) string {
	t.Helper()
	rqlited := needRqlited(t)
	out, err := clusterCommand(rqlited, "start", dir).Output()
	t.Cleanup(func() {
		if out, err := clusterCommand(rqlited, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("cluster.sh stop: %v\n%s", err, out)
		}
	})
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("cluster.sh start: %v\n%s", err, stderr)
	}
	return strings.TrimSpace(string(out))
}

// clusterLeader returns the node id of the cluster's leader, as its first
// node's /status names it (url is cluster.sh's: rqlite://host:port,...).
func clusterLeader(t *testing.T, url string) string {
	t.Helper()
	nodes := strings.Split(strings.TrimPrefix(url, "rqlite://"), ",")
	res, err := http.Get("http://" + nodes[0] + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var status struct {
		Store struct {
			Leader struct {
				NodeID string `json:"node_id"`
			} `json:"leader"`
		} `json:"store"`
	}
	if err := json.NewDecoder(res.Body).Decode(&status); err != nil || status.Store.Leader.NodeID == "" {
		t.Fatalf("leader from %s/status: %q, %v", nodes[0], status.Store.Leader.NodeID, err)
	}
	return status.Store.Leader.NodeID
}
