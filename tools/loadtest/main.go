// Command loadtest puts a measured load on a server that speaks tokenapi's
// API (tokenapi itself, or the Flask tutorial it mirrors) and compares it
// with a bare net/http handler serving the same bytes on the same machine.
//
// It starts the server on a fresh database (or uses a running one), signs
// up a few users, logs them in and writes some posts; then keeps -c
// connections busy with a mix of requests for a warm-up and for -d, and
// prints requests per second, latency percentiles, errors by status, and
// the server's memory and CPU. Then it does the same against the baseline
// and prints the ratio.
//
// With -seed-users (and -seed-posts, -seed-tokens) it first fills the
// server's database with SQL (seed.go), so that the load runs at scale;
// -page sets which page the list scenarios read.
//
// It is a module of its own; its one dependency is the SQLite driver
// tokenapi uses, for seeding. Usage, from the repository root (go -C runs
// the tool in tools/loadtest, so give it absolute paths):
//
//	go build -o /tmp/tokenapi . && go -C tools/loadtest run . -binary /tmp/tokenapi
//	go -C tools/loadtest run . -binary /tmp/tokenapi -mix list-posts -c 64 -d 10s
//	go -C tools/loadtest run . -binary /tmp/tokenapi -mix get-user=8,list-users=1,list-posts=1,create-post=1
//	go -C tools/loadtest run . -binary /tmp/tokenapi -mix login -c 8 -baseline=false
//	go -C tools/loadtest run . -binary /tmp/tokenapi -seed-users 100000 -seed-posts 1000000 -mix list-posts -page last
//	go -C tools/loadtest run . -binary /tmp/tokenapi -- -token-ttl 2h   # after --: the server's own flags
//	go -C tools/loadtest run . -url http://localhost:5000 -pid "$(pgrep -n tokenapi)"
//	go -C tools/loadtest run . -server-cmd 'exec /path/to/other-server --port {port} --data {dir}'   # the Flask app: README.md
//
// It exits 0 when every measured request got a 2xx answer, 1 when any did
// not or setup failed, and 2 for a bad command line. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == bareCommand {
		if err := bareMain(os.Args[2:], os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "bench %s: %v\n", bareCommand, err)
			os.Exit(1)
		}
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// defaultReadyTimeout is -ready-timeout's default.
const defaultReadyTimeout = 30 * time.Second

// errUsage is a bad command line; the message has been printed.
var errUsage = errors.New("usage")

// options are the command line.
type options struct {
	url          string
	binary       string
	serverCmd    string
	serverArgs   []string // after --, for -binary
	pid          int
	healthPath   string
	readyTimeout time.Duration

	mix      []mixEntry
	conns    int
	duration time.Duration
	warmup   time.Duration
	timeout  time.Duration
	users    int
	posts    int
	baseline bool

	seedUsers  int
	seedPosts  int
	seedTokens int
	db         string // with -binary: the database file, kept; "" for a fresh one
	page       string // first, middle or last: which page list routes read
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var mix string
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: bench (-binary path [-- server flags] | -server-cmd 'command' | -url http://host:port [-pid n]) [flags]")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.binary, "binary", "", "start this tokenapi binary with -addr and -db set to a free port and a fresh database")
	fs.StringVar(&o.serverCmd, "server-cmd", "", "start this sh command line, with {port}, {addr} and {dir} (a fresh temporary directory) filled in")
	fs.StringVar(&o.url, "url", "", "use the server already running at this http:// URL")
	fs.IntVar(&o.pid, "pid", 0, "with -url: the server's process id, for its memory and CPU")
	fs.StringVar(&o.healthPath, "health-path", "/healthz", "a started server is ready when GET of this path answers below 500")
	fs.DurationVar(&o.readyTimeout, "ready-timeout", defaultReadyTimeout, "how long a started server may take to become ready")
	fs.StringVar(&mix, "mix", scenarioGetUser, "scenarios and weights, e.g. get-user=8,list-users=1; one of "+strings.Join(scenarioNames(), ", "))
	fs.IntVar(&o.conns, "c", 64, "connections, each with its own goroutine")
	fs.DurationVar(&o.duration, "d", 10*time.Second, "measured duration")
	fs.DurationVar(&o.warmup, "warmup", 2*time.Second, "unmeasured load before the measured duration")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Second, "how long requests in flight at the end may take before they count as errors")
	fs.IntVar(&o.users, "users", 4, "users signed up and logged in before the run (each costs a password hash or two)")
	fs.IntVar(&o.posts, "posts", 20, "posts written before the run")
	fs.BoolVar(&o.baseline, "baseline", true, "also measure a bare net/http server serving the same GET /api/users/{id} bytes")
	fs.IntVar(&o.seedUsers, "seed-users", 0, "with -binary: before the run, insert this many users (seed_1, ... with password "+strconv.Quote(seedPassword)+") with SQL into the server's database; get-user then reads them")
	fs.IntVar(&o.seedPosts, "seed-posts", 0, "with -seed-users: also insert this many posts, spread over the seeded users")
	fs.IntVar(&o.seedTokens, "seed-tokens", 0, "with -seed-users: also insert this many sessions, half expired and half live, that no client holds")
	fs.StringVar(&o.db, "db", "", "with -binary: the server's database file, used as it is (or seeded, with -seed-users) and kept, instead of a fresh one in a temporary directory")
	fs.StringVar(&o.page, "page", pageFirst, "the page list-users and list-posts read, of 10 items: first, middle or last (counted when the run starts)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return o, err
		}
		return o, errUsage
	}
	o.serverArgs = fs.Args()

	bad := func(format string, a ...any) (options, error) {
		fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
		return o, errUsage
	}
	sources := 0
	for _, s := range []string{o.binary, o.serverCmd, o.url} {
		if s != "" {
			sources++
		}
	}
	var err error
	switch {
	case sources != 1:
		return bad("give exactly one of -binary, -server-cmd and -url")
	case len(o.serverArgs) > 0 && o.binary == "":
		return bad("arguments after the flags (%q) are for -binary only", o.serverArgs)
	case o.pid != 0 && o.url == "":
		return bad("-pid is for -url; a server the tool starts is measured anyway")
	case o.conns < 1:
		return bad("-c must be at least 1")
	case o.duration <= 0 || o.warmup < 0 || o.timeout <= 0:
		return bad("-d and -timeout must be positive, -warmup not negative")
	case o.users < 1 || o.posts < 0:
		return bad("-users must be at least 1 and -posts not negative")
	case o.seedUsers < 0 || o.seedPosts < 0 || o.seedTokens < 0:
		return bad("-seed-users, -seed-posts and -seed-tokens must not be negative")
	case (o.seedPosts > 0 || o.seedTokens > 0) && o.seedUsers == 0:
		return bad("-seed-posts and -seed-tokens need -seed-users, to own them")
	case o.db != "" && o.binary == "":
		return bad("-db is for -binary")
	case o.seedUsers > 0 && o.binary == "":
		return bad("-seed-users is for -binary: the tool seeds the database file it gives the server")
	case o.page != pageFirst && o.page != pageMiddle && o.page != pageLast:
		return bad("-page must be first, middle or last, not %q", o.page)
	}
	if o.mix, err = parseMix(mix); err != nil {
		return bad("%v", err)
	}
	// The server runs in a temporary directory: a relative path is this
	// process's.
	if o.db != "" {
		if o.db, err = filepath.Abs(o.db); err != nil {
			return bad("-db: %v", err)
		}
	}
	return o, nil
}

// run is the whole tool: start or find the server, set up, load the
// target, load the baseline, report.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", a...) }

	dir, err := os.MkdirTemp("", "tokenapi-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var seeded seedResult
	var seedTime time.Duration
	if o.seedUsers > 0 {
		seedStart := time.Now()
		if seeded, err = seedServerDB(ctx, o, dir, o.db, progress); err != nil {
			return err
		}
		seedTime = time.Since(seedStart)
		progress("seeded %d users, %d posts, %d sessions in %v", seeded.users, seeded.posts, seeded.tokens, seedTime.Round(time.Millisecond))
	}

	tgt, err := startTarget(ctx, o, dir)
	if err != nil {
		return err
	}
	if tgt.proc != nil {
		defer tgt.proc.stop()
	}
	progress("target %s", tgt.desc)

	setupFailed := func(err error) error {
		if tgt.proc != nil {
			return fmt.Errorf("setup: %w\nthe server's log ends:\n%s", err, tgt.proc.logTail())
		}
		return fmt.Errorf("setup: %w", err)
	}
	setupStart := time.Now()
	api := newAPIClient(tgt.baseURL)
	f, err := setup(ctx, api, tgt.addr, setupConfig{users: o.users, posts: o.posts, login: mixHas(o.mix, scenarioLogin)})
	if err != nil {
		return setupFailed(err)
	}
	f.seeded = seeded
	if err := choosePages(ctx, api, f, o.page); err != nil {
		return setupFailed(err)
	}
	lc := newLoadConfig(f, o.mix, tgt.addr, o)
	if err := tryEach(lc); err != nil {
		return setupFailed(err)
	}
	var bareBody []byte
	var bareType, barePath string
	if o.baseline {
		barePath = getUserPath(f, 0)
		if bareBody, bareType, err = api.getRaw(ctx, barePath, f.users[0].token); err != nil {
			return setupFailed(fmt.Errorf("the baseline's body: %w", err))
		}
	}
	setupTime := time.Since(setupStart)
	progress("setup: %d users with tokens, %d posts, in %v", len(f.users), o.posts, setupTime.Round(time.Millisecond))

	progress("target: %s over %d connections, %v warm-up, %v measured", mixString(o.mix), o.conns, o.warmup, o.duration)
	runs := []*runReport{measure(ctx, "target", lc, tgt.pid)}
	if err := ctx.Err(); err != nil {
		return err
	}
	// A server that died during the run is reported after the numbers,
	// which show when it happened.
	var serverErr error
	if tgt.proc != nil {
		serverErr = tgt.proc.stop()
	}

	if o.baseline {
		b, err := startBare(bareBody, bareType, dir)
		if err != nil {
			return err
		}
		bf := *f
		bf.host = b.addr
		blc := newLoadConfig(&bf, []mixEntry{{scenarioGetUser, 1}}, b.addr, o)
		progress("baseline: bare net/http (pid %d) at http://%s", b.pid(), b.addr)
		runs = append(runs, measure(ctx, "baseline", blc, b.pid()))
		b.stop()
		if err := ctx.Err(); err != nil {
			return err
		}
	}

	fmt.Fprintf(stdout, "target    %s\n", tgt.desc)
	fmt.Fprintf(stdout, "load      %s; %d connections; %v warm-up, %v measured\n", mixString(o.mix), o.conns, o.warmup, o.duration)
	if o.seedUsers > 0 {
		fmt.Fprintf(stdout, "seeded    %d users, %d posts, %d sessions with SQL before the server started, %v\n", seeded.users, seeded.posts, seeded.tokens, seedTime.Round(time.Millisecond))
	}
	fmt.Fprintf(stdout, "setup     %d users with tokens, %d posts (created on %s), %v\n", len(f.users), o.posts, f.postPath, setupTime.Round(time.Millisecond))
	if o.page != pageFirst {
		fmt.Fprintf(stdout, "pages     %s: list-users page %d, list-posts page %d, of 10 items\n", o.page, f.usersPage, f.postsPage)
	}
	if o.baseline {
		fmt.Fprintf(stdout, "baseline  net/http answering every get-user request with the target's %d-byte GET %s (%s)\n", len(bareBody), barePath, bareType)
	}
	fmt.Fprintln(stdout)
	printReport(stdout, runs)

	if serverErr != nil {
		return serverErr
	}
	var failed uint64
	for _, r := range runs {
		failed += r.errorCount()
	}
	if failed > 0 {
		return fmt.Errorf("%d requests failed (see errors above)", failed)
	}
	return nil
}

// newLoadConfig prebuilds every connection's requests for a mix.
func newLoadConfig(f *fixture, mix []mixEntry, addr string, o options) *loadConfig {
	lc := &loadConfig{
		addr:     addr,
		warmup:   o.warmup,
		duration: o.duration,
		grace:    o.timeout,
		cycle:    schedule(mix),
		requests: make([][][]byte, o.conns),
	}
	for _, m := range mix {
		lc.names = append(lc.names, m.name)
	}
	for k := range lc.requests {
		for _, name := range lc.names {
			lc.requests[k] = append(lc.requests[k], buildRequest(name, f, k))
		}
	}
	return lc
}

// tryEach sends each scenario's request once through the load client
// before the run, so that a mix the server does not take fails here with
// its status, rather than as thousands of errors.
func tryEach(lc *loadConfig) error {
	var c *conn
	defer func() {
		if c != nil {
			c.close()
		}
	}()
	for s, name := range lc.names {
		if c == nil {
			var err error
			if c, err = dial(lc.addr); err != nil {
				return err
			}
		}
		req := lc.requests[0][s]
		status, keepAlive, err := c.roundTrip(req)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if status < 200 || status > 299 {
			line, _, _ := strings.Cut(string(req), "\r\n")
			return fmt.Errorf("%s: %s = %d, want 2xx", name, line, status)
		}
		if !keepAlive {
			c.close()
			c = nil
		}
	}
	return nil
}

// measure runs the load and samples the server's CPU over the measured
// window and its memory at the end of it.
func measure(ctx context.Context, label string, lc *loadConfig, pid int) *runReport {
	r := &runReport{label: label, names: lc.names}
	var before cpuSample
	r.result = runLoad(ctx, lc,
		func() { before = sampleCPU(pid) },
		func() {
			r.cpu = cpuBetween(before, sampleCPU(pid))
			if pid > 0 {
				r.mem, r.memOK = readMemory(pid)
			}
		})
	return r
}

// getUserPath is the path connection k's get-user request reads: another
// user than the caller's, as in the tutorial's walkthrough (tokenapi shows
// the email only to its owner). With seeded users, it is one of them,
// connections spread over the whole range of ids by a prime stride.
func getUserPath(f *fixture, k int) string {
	if f.seeded.users > 0 {
		id := f.seeded.firstUserID + int64(k*7919%f.seeded.users)
		return "/api/users/" + strconv.FormatInt(id, 10)
	}
	other := f.users[(k+1)%len(f.users)]
	return "/api/users/" + strconv.FormatInt(other.id, 10)
}
