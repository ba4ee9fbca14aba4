// Command tokenapi serves a small blog API (users and posts) whose clients
// trade a username and password for a bearer token, then send that token on
// every protected call. It is the Go counterpart of the Flask tutorial "API
// Authentication in Flask", with tokens hashed at rest, PBKDF2 passwords and
// throttled logins.
//
// Read it in this order. The lesson, token authentication:
//   - routes.go: routes, the map of the API, and the server it belongs to;
//   - auth.go: requireBasic and requireToken, the two ways in
//     (authheader.go reads the Authorization header they share);
//   - tokens.go: a new random token, its SHA-256 the only form stored, and
//     the handlers that issue and revoke tokens (tokenformat.go: the tapi_
//     format, whose checksum refuses a mistyped token before any lookup);
//   - store.go: what the handlers need of the database, and
//     store_sessions.go: liveSession, the token's lookup by its hash with
//     the expiry in the WHERE clause;
//   - sessions.go: every token is a session its user can list and end, and
//     a read session may only read;
//   - events.go and store_events.go: each user's security log, written by
//     the requests that change the account, read by its user alone;
//   - users.go and posts.go: the handlers, with request.go, response.go,
//     errors.go and validate.go for what they share;
//   - store_users.go, store_posts.go and store_admin.go: the rest of the
//     SQL, one statement a method; opendb.go opens the file and brings
//     schema.sql up to date.
//
// Then what makes it fast and hard to abuse, each wrapped around the lesson
// rather than threaded through it:
//   - cachingstore.go and cachingwrites.go (with cache.go and
//     cachedvalues.go): a store with the same methods around the plain one,
//     which answers the hot reads from memory and forgets what its writes
//     change; run puts it around the plain store in one line;
//   - noteduses.go: last_seen and each session's last use (which slides its
//     expiry) noted in memory by the caching store, written once a second;
//   - throttle.go and store_failures.go: failed password checks, counted in
//     the database, lock a login out for a while (passwordcheck.go: the
//     one way a password or a code is checked); knownaddresses.go: an
//     account that logged in from an address before is not locked out of it
//     by failures counted against that address;
//   - passwords.go and hashslots.go: PBKDF2, and how many hashes run at once;
//   - totp.go, totplogin.go and totpapi.go (with store_totp.go): the second
//     step of a login, codes from an authenticator app, checked under the
//     same throttle; secrets.go: their secrets sealed under a key that is
//     not in the database;
//   - clientaddr.go (with forwarded.go): the client's address, which the
//     throttle counts by and the log shows, found behind trusted proxies;
//   - middleware.go and logwriter.go: JSON for the mux's own errors, panics,
//     safety headers, connections closed after unsure framing, and the
//     request log, written in batches;
//   - cors.go: browser apps on the origins -cors-origins lists may read
//     the answers (CORS); off by default;
//   - sweeper.go: expired sessions cleared away, a batch of rows a
//     statement (store_sweeps.go), so that writes go between the batches;
//   - passwordreset.go and store_resets.go: password reset by mail, whose
//     mail waits in the outbox (store_outbox.go) for the sender in
//     outbox.go, which speaks SMTP in mailsend.go; mailconfig.go and
//     mailmessage.go: -smtp-url and the mails themselves; verifyemail.go
//     and newdevice.go (store_verifications.go): verified addresses, and
//     the alert of a login from a new device;
//   - committer.go: group commit, every write of the store run by one
//     goroutine, many to a transaction, so that one fsync serves many;
//   - rqlitestore.go: the same store on an rqlite cluster (-db rqlite://...),
//     through the database/sql driver in internal/rqlite (docs/cluster.md).
//
// The API described to the tools its users have: openapi.json, written by
// hand and served by openapi.go, and the /docs page that docs.go serves,
// rendered from it by internal/apidocs.
//
// main.go and options.go (listenaddr.go) start it all: run is the whole program. admin.go,
// admin_commands.go, admin_password.go, admin_unlock.go, admin_events.go and
// admin_totp.go are the operator's side of the same binary: tokenapi users,
// sessions, revoke, passwd, prune, unlock, events, totp-off and totp-code,
// on the database file a server may be using, and
// only on one a server has made (existingdb.go); admin_output.go prints
// their listings a page at a time. For a running server,
// adminserver.go is the opt-in admin listener, with the counts of
// metrics.go and the profiler; version.go is -version.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal during the shutdown wait then ends the process at once
	}()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tokenapi: %v\n", err)
		if errors.As(err, new(usageError)) {
			fmt.Fprintln(os.Stderr, "Run 'tokenapi help' for usage.")
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// shutdownTimeout bounds how long in-flight requests may take to finish
// once a signal asks the server to stop.
const shutdownTimeout = 10 * time.Second

// run is the whole program: it serves until ctx ends, then shuts down,
// or it runs the command args name (admin.go), which may read stdin. The
// request log goes to stderr; -h prints the usage to stdout. A command
// line it cannot run is a usageError.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	opts, command, err := parseOptions(args, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if opts.version {
		printVersion(stdout, readBuildInfo())
		return nil
	}
	if len(command) > 0 {
		return runCommand(ctx, opts, command, stdin, stdout, stderr)
	}
	opts.secretKey = getenv(secretKeyEnv) // never a flag: a key on a command line shows in ps
	return serveAPI(ctx, opts, stderr)
}

// serveAPI serves the API as opts say until ctx ends, logging to stderr.
func serveAPI(ctx context.Context, opts options, stderr io.Writer) error {
	logOut := newLogWriter(stderr, logFlushInterval)
	defer logOut.Close()
	log := slog.New(newLogHandler(logOut, opts.logFormat))

	// Listen before opening the database, so that an address in use fails
	// at once and leaves no database file behind.
	ln, tlsConfig, err := listen(opts)
	if err != nil {
		return err
	}
	defer ln.Close()
	var adminLn net.Listener
	if opts.adminAddr != "" {
		if adminLn, err = net.Listen("tcp", opts.adminAddr); err != nil {
			return fmt.Errorf("admin listener: %w", err)
		}
		defer adminLn.Close()
	}
	db, cfg, err := openDatabase(ctx, opts)
	if err != nil {
		return err
	}
	// The server runs on db as it is; the caching store answers the hot
	// reads from memory. Make this line "var st store = db" to run without it.
	var st store = newCachingStore(db, log, time.Now, opts.tokenTTL, notedUsesFlushInterval)
	defer st.Close()

	srv := newServer(st, log, cfg)
	stopSweeper := srv.startSweeper(sweepInterval)
	defer stopSweeper()
	stopMail := srv.startMailSender(db) // none without -smtp-url
	defer stopMail()
	if opts.smtp != nil {
		// The server's String has no credentials.
		log.Info("mail", "smtp", opts.smtp.String(), "from", opts.mailFrom.Address)
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("listening", "url", scheme+"://"+ln.Addr().String(), "db", opts.db)
	stopAdmin := func() {}
	if adminLn != nil {
		stopAdmin = startAdmin(ctx, adminLn, opts.adminAddr, serverVars(srv, st, db), metricsHandler(srv, st, db), log)
	}
	defer stopAdmin()
	err = serve(ctx, newPublicServer(srv, tlsConfig, log), ln, log)
	stopAdmin() // with the public server, and before the database closes
	if err != nil {
		return err
	}
	stopSweeper()
	stopMail()
	if err := st.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	log.Info("stopped")
	return nil
}

// openDatabase opens the store opts name, and the key that seals its TOTP
// secrets (secrets.go), which goes into the server's config: a missing or
// wrong key stops the start here.
func openDatabase(ctx context.Context, opts options) (*sqlStore, config, error) {
	cfg := opts.config()
	db, err := openStore(ctx, opts.db)
	if err != nil {
		return nil, cfg, err
	}
	if cfg.secrets, err = openSecrets(ctx, db, opts.db, opts.secretKeyFile, opts.secretKey); err != nil {
		db.Close()
		return nil, cfg, err
	}
	return db, cfg, nil
}

// listen opens the listener of opts.addr, and loads the TLS key pair when
// opts has one: a bad file or a busy address fails the start at once.
func listen(opts options) (net.Listener, *tls.Config, error) {
	var tlsConfig *tls.Config
	if opts.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.tlsCert, opts.tlsKey)
		if err != nil {
			return nil, nil, fmt.Errorf("load TLS key pair: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", opts.addr)
	return ln, tlsConfig, err
}

// newPublicServer is the API's server, with the timeouts that keep a slow
// or idle client from holding a connection for long.
func newPublicServer(h http.Handler, tlsConfig *tls.Config, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// newLogHandler is the log's handler for format, text or json (options.go
// allows no other).
func newLogHandler(w io.Writer, format string) slog.Handler {
	if format == "json" {
		return slog.NewJSONHandler(w, nil)
	}
	return slog.NewTextHandler(w, nil)
}

// serve serves httpServer on ln (with TLS when it has a TLSConfig) until
// ctx ends, then shuts it down: new connections are refused, and requests
// in flight get shutdownTimeout to finish.
func serve(ctx context.Context, httpServer *http.Server, ln net.Listener, log *slog.Logger) error {
	served := make(chan error, 1)
	go func() {
		if httpServer.TLSConfig != nil {
			served <- httpServer.ServeTLS(ln, "", "")
		} else {
			served <- httpServer.Serve(ln)
		}
	}()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		// The wait is bounded: what has not finished by now is cut off.
		log.Warn("requests still running at the end of the shutdown wait; closing them", "error", err)
		httpServer.Close()
	}
	return nil
}

// serveInBackground serves httpServer on ln, as serve does, until ctx
// ends or the function it returns is called, which returns once the
// server has shut down. A failure to serve is logged: the API goes on.
func serveInBackground(ctx context.Context, httpServer *http.Server, ln net.Listener, log *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := serve(ctx, httpServer, ln, log); err != nil {
			log.Error("serve", "error", err)
		}
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}
