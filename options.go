package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// defaultTokenTTL is how long a session lives unused unless -token-ttl says
// otherwise; each use moves its expiry on. defaultTokenMaxAge caps its
// whole life.
const (
	defaultTokenTTL    = time.Hour
	defaultTokenMaxAge = 30 * 24 * time.Hour
)

// minPasswordIterations keeps -password-iterations from switching hashing
// off; anything below the default is for tests.
const minPasswordIterations = 1000

// options are the command line. Each flag but the TLS files can also be set
// from the environment; the flag wins.
type options struct {
	addr               string
	db                 string
	tokenTTL           time.Duration
	tokenMaxAge        time.Duration
	passwordIterations int
	tlsCert            string
	tlsKey             string
	logFormat          string // text or json
	adminAddr          string // the admin listener's address; empty: none
	version            bool   // print the version and stop
	trustedProxies     []netip.Prefix
	mailOptions                 // the mail server and what goes by mail (mailconfig.go)
	secretKeyOptions            // the key that seals TOTP secrets (secrets.go)
	corsOrigins        []string // browser apps' origins (cors.go); none: no CORS
}

// envNames are the environment variables that set flags, by flag name.
var envNames = []struct{ flag, env string }{
	{"addr", "TOKENAPI_ADDR"},
	{"db", "TOKENAPI_DB"},
	{"token-ttl", "TOKENAPI_TOKEN_TTL"},
	{"token-max-age", "TOKENAPI_TOKEN_MAX_AGE"},
	{"password-iterations", "TOKENAPI_PASSWORD_ITERATIONS"},
	{"log-format", "TOKENAPI_LOG_FORMAT"},
	{"admin-addr", "TOKENAPI_ADMIN_ADDR"},
	{"trusted-proxies", "TOKENAPI_TRUSTED_PROXIES"},
	{"smtp-url", "TOKENAPI_SMTP_URL"},
	{"mail-from", "TOKENAPI_MAIL_FROM"},
	{"reset-url-template", "TOKENAPI_RESET_URL_TEMPLATE"},
	{"secret-key-file", "TOKENAPI_SECRET_KEY_FILE"},
	{"require-verified-email", "TOKENAPI_REQUIRE_VERIFIED_EMAIL"},
	{"cors-origins", "TOKENAPI_CORS_ORIGINS"},
}

// parseOptions reads the environment and then args: the flags, then the
// command, if any, with what follows it, which it returns for runCommand
// (admin.go). No command, or serve, returns none: serve takes the same
// flags after its name, and nothing else. For -h or help it prints the
// usage to usage and returns flag.ErrHelp. A bad value is reported the
// same way from a flag and from a variable, naming the one it came from.
func parseOptions(args []string, getenv func(string) string, usage io.Writer) (options, []string, error) {
	o := options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: defaultTokenTTL, tokenMaxAge: defaultTokenMaxAge,
		passwordIterations: defaultPasswordIterations, logFormat: "text"}
	var badValue error // the message of a flag whose value was refused
	fs := o.flagSet(&badValue)
	err := fs.Parse(args)
	command := fs.Args()
	switch {
	case err != nil || len(command) == 0:
		command = nil
	case command[0] == "serve":
		if err = fs.Parse(command[1:]); err == nil && fs.NArg() > 0 {
			return options{}, nil, usageErrorf("unexpected argument %q after serve", fs.Arg(0))
		}
		command = nil
	case command[0] == "help" && (len(command) == 1 || command[1] == "serve"):
		err = flag.ErrHelp
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		printUsage(usage, fs)
		return options{}, nil, err
	case badValue != nil:
		return options{}, nil, fmt.Errorf("-%s: %w", flagName(err), badValue)
	case err != nil:
		return options{}, nil, unknownFlag(err, fs)
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, e := range envNames {
		if v := getenv(e.env); v != "" && !given[e.flag] {
			if err := fs.Set(e.flag, v); err != nil {
				return options{}, nil, fmt.Errorf("%s: %w", e.env, err)
			}
		}
	}
	if err := o.check(); err != nil {
		return options{}, nil, err
	}
	return o, command, nil
}

// flagSet is the command line's flags, which set o. A value a flag refuses
// is kept in badValue, so that its message can name the flag.
func (o *options) flagSet(badValue *error) *flag.FlagSet {
	fs := flag.NewFlagSet("tokenapi", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are returned as one line; -h prints usage
	value := func(parse func(string) error) func(string) error {
		return func(s string) error {
			*badValue = parse(s)
			return *badValue
		}
	}
	fs.StringVar(&o.addr, "addr", o.addr, "address to listen on (TOKENAPI_ADDR)")
	fs.StringVar(&o.db, "db", o.db, "SQLite database file, created on first start, or an rqlite cluster, rqlite://host:port[,host:port...] (TOKENAPI_DB)")
	fs.Func("token-ttl", "how long a session lives unused, e.g. 1h or 30m (TOKENAPI_TOKEN_TTL; default 1h)",
		value(func(s string) error { return parseTTL(s, &o.tokenTTL) }))
	fs.Func("token-max-age", "how long a session lives at most, however used (TOKENAPI_TOKEN_MAX_AGE; default 720h)",
		value(func(s string) error { return parseTTL(s, &o.tokenMaxAge) }))
	fs.Func("password-iterations", fmt.Sprintf("PBKDF2 iterations for new password hashes (TOKENAPI_PASSWORD_ITERATIONS; default %d); lower only for tests", defaultPasswordIterations),
		value(func(s string) error { return parseIterations(s, &o.passwordIterations) }))
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file; serve HTTPS with -tls-key")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS private key file; serve HTTPS with -tls-cert")
	fs.Func("log-format", "the log's form: text (key=value) or json, one object a line (TOKENAPI_LOG_FORMAT; default text)",
		value(func(s string) error { return parseLogFormat(s, &o.logFormat) }))
	fs.StringVar(&o.adminAddr, "admin-addr", "", "address of the admin listener, with /debug/vars and /debug/pprof/;\n"+
		"keep it on localhost or a private network (TOKENAPI_ADMIN_ADDR; default none)")
	fs.Func("trusted-proxies", "addresses or CIDR prefixes, comma-separated, of the reverse proxies whose\n"+
		"X-Forwarded-For or Forwarded header names the client (TOKENAPI_TRUSTED_PROXIES; default none)",
		value(func(s string) error { return parseTrustedProxies(s, &o.trustedProxies) }))
	o.mailFlags(fs, value) // mailconfig.go
	o.secretKeyFlag(fs)    // secrets.go
	o.corsFlag(fs, value)  // cors.go
	fs.BoolVar(&o.version, "version", false, "print the version and the revision it was built from, and stop")
	return fs
}

// check refuses options that make no sense together.
func (o options) check() error {
	if o.tokenMaxAge < o.tokenTTL {
		return fmt.Errorf("-token-max-age %v is shorter than -token-ttl %v", o.tokenMaxAge, o.tokenTTL)
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return errors.New("-tls-cert and -tls-key must be given together")
	}
	if err := o.checkMail(); err != nil {
		return err
	}
	if o.adminAddr != "" && sameListenAddr(o.adminAddr, o.addr) {
		return fmt.Errorf("-admin-addr %s is the public address -addr %s: the admin listener needs one of its own, on localhost or a private network", o.adminAddr, o.addr)
	}
	return nil
}

// config is the server's config as o sets it.
func (o options) config() config {
	cfg := defaultConfig()
	cfg.tokenTTL = o.tokenTTL
	cfg.tokenMaxAge = o.tokenMaxAge
	cfg.passwordIterations = o.passwordIterations
	cfg.trustedProxies = o.trustedProxies
	cfg.mail = o.mailConfig()
	cfg.corsOrigins = o.corsOrigins
	return cfg
}

// printUsage prints the command line: the commands, then the flags of fs.
func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, "usage: tokenapi [flags] [command [args]]\n\nCommands:\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  serve\tserve the API (the default)")
	for _, c := range adminCommands() {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprintln(tw, "  help [command]\tshow this, or a command's flags")
	tw.Flush()
	fmt.Fprint(w, `
The commands but serve work on the -db file, also while a server runs on
it, which honours a change within a second. They print text, or JSON with
-json.

Flags, before the command (serve takes them after its name too):
`)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func parseTTL(s string, dst *time.Duration) error {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not a duration such as 1h or 30m (a number needs a unit)", s)
	case d <= 0:
		return fmt.Errorf("must be positive, not %v", d)
	}
	*dst = d
	return nil
}

func parseIterations(s string, dst *int) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < minPasswordIterations || n > maxPasswordIterations {
		return fmt.Errorf("%q is not a whole number from %d to %d", s, minPasswordIterations, maxPasswordIterations)
	}
	*dst = n
	return nil
}

func parseLogFormat(s string, dst *string) error {
	if s != "text" && s != "json" {
		return fmt.Errorf("%q is not a log format: text or json", s)
	}
	*dst = s
	return nil
}

// parseTrustedProxies reads -trusted-proxies: addresses and CIDR prefixes,
// separated by commas. An address is a prefix of its own length.
func parseTrustedProxies(s string, dst *[]netip.Prefix) error {
	var prefixes []netip.Prefix
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item == "" {
			continue
		}
		p, err := parseTrustedProxy(item)
		if err != nil {
			return err
		}
		prefixes = append(prefixes, p)
	}
	*dst = prefixes
	return nil
}

// parseTrustedProxy reads one address or prefix. A prefix with bits set
// past its length, such as 10.0.0.1/8, is refused rather than rounded
// down: it is likelier a slip for /32 than a wish to trust 16 million
// addresses, each of which could then name any client it liked.
func parseTrustedProxy(s string) (netip.Prefix, error) {
	if addr, err := netip.ParseAddr(s); err == nil && addr.Zone() == "" {
		addr = addr.Unmap()
		return netip.PrefixFrom(addr, addr.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	switch {
	case err != nil:
		return netip.Prefix{}, fmt.Errorf("%q is not an address or a CIDR prefix such as 10.0.0.0/8 or fd00::/8", s)
	case p != p.Masked():
		return netip.Prefix{}, fmt.Errorf("%q has bits set past its /%d: write %s for the network, or %s for the one address",
			s, p.Bits(), p.Masked(), p.Addr())
	}
	return p, nil
}

// flagName returns the name of the flag in the flag package's "invalid
// value" error.
func flagName(err error) string {
	_, after, _ := strings.Cut(err.Error(), " for flag -")
	name, _, _ := strings.Cut(after, ":")
	return name
}

// flagSynonyms are names people try for our flags, from other servers.
var flagSynonyms = map[string]string{
	"port": "addr", "listen": "addr", "host": "addr", "bind": "addr", "address": "addr",
	"database": "db", "dbpath": "db", "db-path": "db", "file": "db", "data": "db",
	"ttl": "token-ttl", "token-lifetime": "token-ttl", "expiry": "token-ttl",
	"cert": "tls-cert", "key": "tls-key", "iterations": "password-iterations",
	"log": "log-format", "logformat": "log-format", "log-json": "log-format", "json-log": "log-format",
	"debug-addr": "admin-addr", "metrics-addr": "admin-addr", "pprof": "admin-addr", "metrics": "admin-addr",
	"trusted-proxy": "trusted-proxies", "proxies": "trusted-proxies", "trust-proxy": "trusted-proxies",
	"forwarded-allow-ips": "trusted-proxies", "real-ip-from": "trusted-proxies", "set-real-ip-from": "trusted-proxies",
	"smtp": "smtp-url", "smtp-server": "smtp-url", "mail-url": "smtp-url", "from": "mail-from", "email-from": "mail-from",
	"v": "version",
}

// unknownFlag turns the flag package's error for a flag we do not have
// into one that suggests the nearest one we do.
func unknownFlag(err error, fs *flag.FlagSet) error {
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return err
	}
	name = strings.TrimPrefix(name, "-")
	suggestion, best := "", 3 // a typo is at most two edits away
	fs.VisitAll(func(f *flag.Flag) {
		if d := editDistance(strings.ToLower(name), f.Name); d < best {
			best, suggestion = d, f.Name
		}
	})
	if synonym, ok := flagSynonyms[strings.ToLower(name)]; ok {
		suggestion = synonym
	}
	if suggestion == "" {
		return fmt.Errorf("unknown flag -%s (tokenapi -h lists the flags)", name)
	}
	return fmt.Errorf("unknown flag -%s; did you mean -%s?", name, suggestion)
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}
