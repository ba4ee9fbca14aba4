package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime"
	"time"
)

// routes is the map of the whole API: one line per endpoint, with its
// method, path and the authentication it needs: Basic credentials, a
// token, or a token whose session may write.
func (s *server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /api/tokens", s.requireBasic(s.handleCreateToken))
	mux.Handle("GET /api/tokens", s.requireToken(s.handleListSessions))
	mux.Handle("DELETE /api/tokens", s.requireToken(s.handleRevokeToken)) // a read token may log itself out
	mux.Handle("DELETE /api/tokens/{id}", s.requireToken(requireWrite(s.handleRevokeSession)))

	mux.HandleFunc("POST /api/users", s.handleCreateUser)
	mux.Handle("GET /api/users", s.requireToken(s.handleListUsers))
	mux.Handle("GET /api/users/{id}", s.requireToken(s.handleGetUser))
	mux.Handle("PUT /api/users/{id}", s.requireToken(requireWrite(s.handleUpdateUser)))
	mux.Handle("DELETE /api/users/{id}", s.requireToken(requireWrite(s.handleDeleteUser)))
	mux.Handle("GET /api/users/{id}/my-posts", s.requireToken(s.handleListUserPosts))
	mux.Handle("POST /api/users/{id}/totp", s.requireToken(requireWrite(s.handleEnrolTOTP)))
	mux.Handle("POST /api/users/{id}/totp/confirm", s.requireToken(requireWrite(s.handleConfirmTOTP)))
	mux.Handle("DELETE /api/users/{id}/totp", s.requireToken(requireWrite(s.handleDisableTOTP)))
	mux.Handle("POST /api/users/{id}/totp/recovery-codes", s.requireToken(requireWrite(s.handleReplaceRecoveryCodes)))
	mux.Handle("GET /api/users/{id}/events", s.requireToken(s.handleListEvents)) // your own; a read token may

	mux.Handle("GET /api/posts", s.requireToken(s.handleListPosts))
	mux.Handle("GET /api/posts/{id}", s.requireToken(s.handleGetPost))
	mux.Handle("POST /api/posts", s.requireToken(requireWrite(s.handleCreatePost)))
	mux.Handle("POST /api/posts/user/{id}", s.requireToken(requireWrite(s.handleCreatePostForUser)))
	mux.Handle("PUT /api/posts/{id}", s.requireToken(requireWrite(s.handleUpdatePost)))
	mux.Handle("DELETE /api/posts/{id}", s.requireToken(requireWrite(s.handleDeletePost)))

	mux.HandleFunc("POST /api/password-reset", s.handleRequestPasswordReset)
	mux.HandleFunc("POST /api/password-reset/confirm", s.handleConfirmPasswordReset)
	mux.Handle("POST /api/users/{id}/email-verification", s.requireToken(requireWrite(s.handleResendEmailVerification)))
	mux.HandleFunc("POST /api/email-verification/confirm", s.handleConfirmEmailVerification)

	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.HandleFunc("GET /api/openapi.json", handleOpenAPI)
	mux.HandleFunc("GET /docs", s.handleDocs)
	return mux
}

// server is the API: its state and its handlers.
type server struct {
	store       store
	log         *slog.Logger
	passwords   *passwordHasher
	throttle    *passwordThrottle
	tokenTTL    time.Duration // a session's idle lifetime
	tokenMaxAge time.Duration // a session's whole lifetime
	now         func() time.Time
	metrics     *metrics      // for the admin listener (adminserver.go)
	mail        *mailConfig   // nil: mail is not configured
	mailQueued  chan struct{} // wakes the mail sender (outbox.go)
	secrets     *secretBox    // seals TOTP secrets (secrets.go)
	mux         *http.ServeMux
	handler     http.Handler
}

// config holds what a server needs besides its store and logger. Tests
// lower the password cost and move the clock.
type config struct {
	tokenTTL           time.Duration
	tokenMaxAge        time.Duration
	passwordIterations int
	throttleLimit      int // one account from one address
	accountLimit       int // one account from every address
	addressLimit       int // one address across accounts
	throttleWindow     time.Duration
	trustedProxies     []netip.Prefix // whose forwarding headers name the client (clientaddr.go)
	mail               *mailConfig    // nil: mail is not configured, its routes answer 501
	corsOrigins        []string       // browser apps' origins (cors.go); none: no CORS
	now                func() time.Time
	secrets            *secretBox // with the key that opens this database's secrets
}

func defaultConfig() config {
	return config{
		tokenTTL:           defaultTokenTTL,
		tokenMaxAge:        defaultTokenMaxAge,
		passwordIterations: defaultPasswordIterations,
		throttleLimit:      defaultThrottleLimit,
		accountLimit:       defaultAccountLimit,
		addressLimit:       defaultAddressLimit,
		throttleWindow:     defaultThrottleWindow,
		now:                time.Now,
	}
}

func newServer(st store, log *slog.Logger, cfg config) *server {
	slots := newHashSlots(runtime.GOMAXPROCS(0))
	s := &server{
		store:       st,
		log:         log,
		passwords:   newPasswordHasher(cfg.passwordIterations, slots),
		throttle:    newPasswordThrottle(st, cfg),
		tokenTTL:    cfg.tokenTTL,
		tokenMaxAge: cfg.tokenMaxAge,
		now:         cfg.now,
		metrics:     newMetrics(),
		mail:        cfg.mail,
		mailQueued:  make(chan struct{}, 1),
		secrets:     cfg.secrets,
	}
	s.mux = s.routes()
	routed := s.recoverPanics(slots.shareCores(http.HandlerFunc(s.dispatch)))
	logged := s.logRequests(closeOnUnsureFraming(safetyHeaders(s.allowOrigins(cfg.corsOrigins, routed))))
	// Outermost, so that the log and the throttle see the same client.
	s.handler = resolveClient(cfg.trustedProxies, logged)
	return s
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
