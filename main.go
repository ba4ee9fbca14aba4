// Command tokenapi serves a small blog API (users and posts) whose clients
// trade a username and password for a bearer token, then send that token on
// every protected call. It is the Go counterpart of the Flask tutorial "API
// Authentication in Flask", with tokens hashed at rest, PBKDF2 passwords and
// throttled logins.
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
	"runtime"
	"syscall"
	"time"
)

func main() {
	os.Exit(serveProcess(defaultConfig()))
}

// serveProcess is the whole process around run: signals, the one-line
// error and the exit code. It takes the server's config so that the test
// binary can run itself as this same process with a cheaper password hash
// (see TestMain).
func serveProcess(cfg config) (exitCode int) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second signal during the shutdown wait then ends the process at once
	}()
	err := runConfig(ctx, os.Args[1:], os.Getenv, os.Stderr, cfg)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "tokenapi: %v\n", err)
		return 1
	}
	return 0
}

// defaultTokenTTL is how long a token lives unless -token-ttl says otherwise.
const defaultTokenTTL = time.Hour

// shutdownTimeout bounds how long in-flight requests may take to finish
// once a signal asks the server to stop.
const shutdownTimeout = 10 * time.Second

// sweepInterval is how often expired tokens and stale throttle entries are
// cleared away.
const sweepInterval = 5 * time.Minute

// options are the command line. -addr, -db and -token-ttl can also be set
// from the environment; the flag wins.
type options struct {
	addr     string
	db       string
	tokenTTL time.Duration
	tlsCert  string
	tlsKey   string
}

func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	env := func(name, fallback string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return fallback
	}
	// A bad TOKENAPI_TOKEN_TTL is an error only if -token-ttl does not
	// override it: the flag wins.
	ttl, ttlErr := time.ParseDuration(env("TOKENAPI_TOKEN_TTL", defaultTokenTTL.String()))
	if ttlErr != nil {
		ttlErr = fmt.Errorf("TOKENAPI_TOKEN_TTL: %q is not a duration such as 1h or 30m", getenv("TOKENAPI_TOKEN_TTL"))
		ttl = defaultTokenTTL
	}
	var o options
	fs := flag.NewFlagSet("tokenapi", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned as one line; -h prints usage below
	fs.StringVar(&o.addr, "addr", env("TOKENAPI_ADDR", "localhost:5000"), "address to listen on (TOKENAPI_ADDR)")
	fs.StringVar(&o.db, "db", env("TOKENAPI_DB", "tokenapi.db"), "SQLite database file, created on first start (TOKENAPI_DB)")
	fs.DurationVar(&o.tokenTTL, "token-ttl", ttl, "how long a token lives (TOKENAPI_TOKEN_TTL)")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file; serve HTTPS with -tls-key")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file; serve HTTPS with -tls-cert")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fmt.Fprintln(stderr, "usage: tokenapi [flags]")
			fs.PrintDefaults()
		}
		return options{}, err
	}
	ttlSet := false
	fs.Visit(func(f *flag.Flag) { ttlSet = ttlSet || f.Name == "token-ttl" })
	switch {
	case ttlErr != nil && !ttlSet:
		return options{}, ttlErr
	case fs.NArg() > 0:
		return options{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.tokenTTL <= 0:
		return options{}, fmt.Errorf("-token-ttl must be positive, not %v", o.tokenTTL)
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return options{}, errors.New("-tls-cert and -tls-key must be given together")
	}
	return o, nil
}

// run is the whole program: it serves until ctx ends, then shuts down.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return runConfig(ctx, args, getenv, stderr, defaultConfig())
}

// runConfig is run with base in place of the default config; the command
// line still sets the token lifetime.
func runConfig(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, base config) error {
	opts, err := parseOptions(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	var tlsConfig *tls.Config
	if opts.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(opts.tlsCert, opts.tlsKey)
		if err != nil {
			return fmt.Errorf("load TLS key pair: %w", err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	// Listen before opening the database, so that an address in use fails
	// at once and leaves no database file behind.
	ln, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	st, err := openStore(ctx, opts.db)
	if err != nil {
		return err
	}
	defer st.Close()

	cfg := base
	cfg.tokenTTL = opts.tokenTTL
	srv := newServer(st, log, cfg)
	httpServer := &http.Server{
		Handler:           srv,
		TLSConfig:         tlsConfig,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	stopSweeper := srv.startSweeper(sweepInterval)
	defer stopSweeper()
	stopLastSeenWriter := srv.startLastSeenWriter(lastSeenFlushInterval)
	defer stopLastSeenWriter()

	served := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			served <- httpServer.ServeTLS(ln, "", "")
		} else {
			served <- httpServer.Serve(ln)
		}
	}()
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
	}
	log.Info("listening", "url", scheme+"://"+ln.Addr().String(), "db", opts.db)

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
	stopSweeper()
	stopLastSeenWriter()
	if err := st.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	log.Info("stopped")
	return nil
}

// config holds what a server needs besides its store and logger. Tests
// lower the password cost and move the clock.
type config struct {
	tokenTTL           time.Duration
	passwordIterations int
	throttleLimit      int
	throttleWindow     time.Duration
	now                func() time.Time
}

func defaultConfig() config {
	return config{
		tokenTTL:           defaultTokenTTL,
		passwordIterations: defaultPasswordIterations,
		throttleLimit:      defaultThrottleLimit,
		throttleWindow:     defaultThrottleWindow,
		now:                time.Now,
	}
}

// server is the API: its state and its handlers.
type server struct {
	store     *store
	log       *slog.Logger
	passwords *passwordHasher
	throttle  *loginThrottle
	tokens    *cache[tokenHash, cachedToken]
	users     *cache[int64, user]
	userPages *cache[page, userPage]
	postPages *cache[postPageKey, postPage]
	lastSeen  *lastSeenRecorder
	tokenTTL  time.Duration
	now       func() time.Time
	mux       *http.ServeMux
	handler   http.Handler
}

func newServer(st *store, log *slog.Logger, cfg config) *server {
	s := &server{
		store:     st,
		log:       log,
		passwords: newPasswordHasher(cfg.passwordIterations, runtime.GOMAXPROCS(0)),
		throttle:  newLoginThrottle(cfg.throttleLimit, cfg.throttleWindow, cfg.now),
		tokens:    newTokenCache(),
		users:     newCache[int64, user](maxCachedUsers, nil),
		userPages: newCache[page, userPage](maxCachedPages, userPage.fits),
		postPages: newCache[postPageKey, postPage](maxCachedPages, postPage.fits),
		lastSeen:  newLastSeenRecorder(),
		tokenTTL:  cfg.tokenTTL,
		now:       cfg.now,
	}
	s.mux = s.routes()
	s.handler = s.logRequests(s.recoverPanics(http.HandlerFunc(s.dispatch)))
	return s
}

// routes is the map of the whole API: one line per endpoint, with its
// method, path and the authentication it needs.
func (s *server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /api/tokens", s.requireBasic(s.handleCreateToken))
	mux.Handle("DELETE /api/tokens", s.requireToken(s.handleRevokeToken))

	mux.HandleFunc("POST /api/users", s.handleCreateUser)
	mux.Handle("GET /api/users", s.requireToken(s.handleListUsers))
	mux.Handle("GET /api/users/{id}", s.requireToken(s.handleGetUser))
	mux.Handle("PUT /api/users/{id}", s.requireToken(s.handleUpdateUser))
	mux.Handle("GET /api/users/{id}/my-posts", s.requireToken(s.handleListUserPosts))

	mux.Handle("GET /api/posts", s.requireToken(s.handleListPosts))
	mux.Handle("GET /api/posts/{id}", s.requireToken(s.handleGetPost))
	mux.Handle("POST /api/posts", s.requireToken(s.handleCreatePost))
	mux.Handle("POST /api/posts/user/{id}", s.requireToken(s.handleCreatePostForUser))
	mux.Handle("PUT /api/posts/{id}", s.requireToken(s.handleUpdatePost))
	mux.Handle("DELETE /api/posts/{id}", s.requireToken(s.handleDeletePost))

	mux.HandleFunc("GET /healthz", s.handleHealth)
	return mux
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// handleHealth reports whether the database answers.
func (s *server) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.ping(ctx); err != nil {
		s.log.ErrorContext(ctx, "health check", "error", err)
		writeError(w, http.StatusServiceUnavailable, "the database does not answer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}
