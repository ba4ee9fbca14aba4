package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    options
		command []string // what parseOptions leaves for runCommand
		wantErr string
	}{
		{name: "defaults", want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000, logFormat: "text"}},
		{
			name: "environment",
			env: map[string]string{"TOKENAPI_ADDR": ":8080", "TOKENAPI_DB": "/tmp/x.db", "TOKENAPI_TOKEN_TTL": "30m",
				"TOKENAPI_PASSWORD_ITERATIONS": "1000"},
			want: options{addr: ":8080", db: "/tmp/x.db", tokenTTL: 30 * time.Minute, tokenMaxAge: 720 * time.Hour, passwordIterations: 1000, logFormat: "text"},
		},
		{
			name: "flags win over the environment",
			args: []string{"-addr", "127.0.0.1:9", "-db", "a.db", "-token-ttl", "90s", "-password-iterations", "2000"},
			env: map[string]string{"TOKENAPI_ADDR": ":8080", "TOKENAPI_DB": "/tmp/x.db", "TOKENAPI_TOKEN_TTL": "bad",
				"TOKENAPI_PASSWORD_ITERATIONS": "bad"},
			want: options{addr: "127.0.0.1:9", db: "a.db", tokenTTL: 90 * time.Second, tokenMaxAge: 720 * time.Hour, passwordIterations: 2000, logFormat: "text"},
		},
		{name: "TLS pair", args: []string{"-tls-cert", "c.pem", "-tls-key", "k.pem"},
			want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000, tlsCert: "c.pem", tlsKey: "k.pem", logFormat: "text"}},
		{name: "bad duration flag", args: []string{"-token-ttl", "soon"}, wantErr: `-token-ttl: "soon" is not a duration such as 1h or 30m`},
		{name: "bad duration variable", env: map[string]string{"TOKENAPI_TOKEN_TTL": "1 hour"}, wantErr: `TOKENAPI_TOKEN_TTL: "1 hour" is not a duration such as 1h or 30m`},
		// The same mistake, a number without a unit, gets the same words
		// from the flag and from the variable, each naming its source.
		{name: "number without unit, flag", args: []string{"-token-ttl", "5"}, wantErr: `-token-ttl: "5" is not a duration such as 1h or 30m (a number needs a unit)`},
		{name: "number without unit, variable", env: map[string]string{"TOKENAPI_TOKEN_TTL": "5"}, wantErr: `TOKENAPI_TOKEN_TTL: "5" is not a duration such as 1h or 30m (a number needs a unit)`},
		{name: "max age from the environment", env: map[string]string{"TOKENAPI_TOKEN_MAX_AGE": "2h"},
			want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 2 * time.Hour, passwordIterations: 600_000, logFormat: "text"}},
		{name: "max age below the lifetime", args: []string{"-token-ttl", "2h", "-token-max-age", "1h"}, wantErr: "-token-max-age 1h0m0s is shorter than -token-ttl 2h0m0s"},
		{name: "bad max age variable", env: map[string]string{"TOKENAPI_TOKEN_MAX_AGE": "forever"}, wantErr: `TOKENAPI_TOKEN_MAX_AGE: "forever" is not a duration`},
		{name: "zero TTL variable", env: map[string]string{"TOKENAPI_TOKEN_TTL": "0s"}, wantErr: "TOKENAPI_TOKEN_TTL: must be positive"},
		{name: "too few iterations", args: []string{"-password-iterations", "999"}, wantErr: `-password-iterations: "999" is not a whole number from 1000 to`},
		{name: "iterations variable", env: map[string]string{"TOKENAPI_PASSWORD_ITERATIONS": "lots"}, wantErr: `TOKENAPI_PASSWORD_ITERATIONS: "lots" is not a whole number`},
		{name: "zero TTL", args: []string{"-token-ttl", "0s"}, wantErr: "must be positive"},
		{name: "negative TTL", args: []string{"-token-ttl", "-1m"}, wantErr: "must be positive"},
		{name: "cert without key", args: []string{"-tls-cert", "c.pem"}, wantErr: "together"},
		{name: "key without cert", args: []string{"-tls-key", "k.pem"}, wantErr: "together"},
		{name: "unknown flag, a name from elsewhere", args: []string{"-port", "80"}, wantErr: "unknown flag -port; did you mean -addr?"},
		{name: "unknown flag, a typo", args: []string{"-tokn-ttl", "1h"}, wantErr: "unknown flag -tokn-ttl; did you mean -token-ttl?"},
		{name: "unknown flag, nothing near", args: []string{"-verbose"}, wantErr: "unknown flag -verbose (tokenapi -h lists the flags)"},
		{name: "operator flags", args: []string{"-log-format", "json", "-admin-addr", "127.0.0.1:6060", "-version"},
			want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000,
				logFormat: "json", adminAddr: "127.0.0.1:6060", version: true}},
		{name: "operator variables", env: map[string]string{"TOKENAPI_LOG_FORMAT": "json", "TOKENAPI_ADMIN_ADDR": "localhost:6060"},
			want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000,
				logFormat: "json", adminAddr: "localhost:6060"}},
		{name: "bad log format flag", args: []string{"-log-format", "logfmt"}, wantErr: `-log-format: "logfmt" is not a log format: text or json`},
		{name: "bad log format variable", env: map[string]string{"TOKENAPI_LOG_FORMAT": "JSON"}, wantErr: `TOKENAPI_LOG_FORMAT: "JSON" is not a log format: text or json`},
		// The admin listener never shares the public address: the same
		// port on the same host, or on every address, is refused; any
		// free port (0) twice is two ports.
		{name: "admin on the public address", args: []string{"-addr", "127.0.0.1:5000", "-admin-addr", "127.0.0.1:5000"},
			wantErr: "-admin-addr 127.0.0.1:5000 is the public address -addr 127.0.0.1:5000: the admin listener needs one of its own"},
		{name: "admin on every address of the public port", args: []string{"-addr", "localhost:5000", "-admin-addr", ":5000"}, wantErr: "is the public address"},
		{name: "admin variable on the public address", env: map[string]string{"TOKENAPI_ADDR": "[::]:8080", "TOKENAPI_ADMIN_ADDR": "127.0.0.1:8080"}, wantErr: "is the public address"},
		{name: "admin and public on free ports", args: []string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"},
			want: options{addr: "127.0.0.1:0", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000,
				logFormat: "text", adminAddr: "127.0.0.1:0"}},
		{name: "trusted proxies", args: []string{"-trusted-proxies", "10.0.0.0/8, 192.0.2.1,2001:db8::/32"},
			want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000, logFormat: "text",
				trustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")}}},
		{name: "trusted proxies variable", env: map[string]string{"TOKENAPI_TRUSTED_PROXIES": "fd00::/8"},
			want: options{addr: "localhost:5000", db: "tokenapi.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000, logFormat: "text",
				trustedProxies: []netip.Prefix{netip.MustParsePrefix("fd00::/8")}}},
		{name: "bad trusted proxy flag", args: []string{"-trusted-proxies", "10.0.0.0/8,10.0.0.0/33"},
			wantErr: `-trusted-proxies: "10.0.0.0/33" is not an address or a CIDR prefix such as 10.0.0.0/8 or fd00::/8`},
		{name: "bad trusted proxy variable", env: map[string]string{"TOKENAPI_TRUSTED_PROXIES": "proxy.internal"},
			wantErr: `TOKENAPI_TRUSTED_PROXIES: "proxy.internal" is not an address or a CIDR prefix`},
		// A prefix with host bits is a slip more often than a wish to
		// trust the whole network; it is refused, with both readings.
		{name: "trusted proxy with host bits", args: []string{"-trusted-proxies", "10.0.0.1/8"},
			wantErr: `-trusted-proxies: "10.0.0.1/8" has bits set past its /8: write 10.0.0.0/8 for the network, or 10.0.0.1 for the one address`},
		{name: "unknown flag, a proxy option from elsewhere", args: []string{"-forwarded-allow-ips", "10.0.0.1"}, wantErr: "unknown flag -forwarded-allow-ips; did you mean -trusted-proxies?"},
		{name: "unknown flag, a metrics address from elsewhere", args: []string{"-metrics-addr", ":9090"}, wantErr: "unknown flag -metrics-addr; did you mean -admin-addr?"},
		{name: "unknown flag, -v", args: []string{"-v"}, wantErr: "unknown flag -v; did you mean -version?"},
		// The first argument is the command; all that follows it is the
		// command's, but serve's flags are the program's.
		{name: "serve and its flags", args: []string{"-db", "a.db", "serve", "-addr", ":1"},
			want: options{addr: ":1", db: "a.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000, logFormat: "text"}},
		{name: "stray argument after serve", args: []string{"serve", "-addr", ":1", "x"}, wantErr: `unexpected argument "x" after serve`},
		{name: "a command", args: []string{"-db", "a.db", "revoke", "-session", "7"},
			want:    options{addr: "localhost:5000", db: "a.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000, logFormat: "text"},
			command: []string{"revoke", "-session", "7"}},
		{name: "flags after a command are the command's", args: []string{"users", "-db", "b.db"}, env: map[string]string{"TOKENAPI_DB": "c.db"},
			want:    options{addr: "localhost:5000", db: "c.db", tokenTTL: time.Hour, tokenMaxAge: 720 * time.Hour, passwordIterations: 600_000, logFormat: "text"},
			command: []string{"users", "-db", "b.db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, command, err := parseOptions(tt.args, func(k string) string { return tt.env[k] }, io.Discard)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseOptions(%q) error = %v, want one containing %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseOptions(%q) error = %v", tt.args, err)
			}
			if !reflect.DeepEqual(got, tt.want) || !slices.Equal(command, tt.command) {
				t.Errorf("parseOptions(%q) = %+v, %q; want %+v, %q", tt.args, got, command, tt.want, tt.command)
			}
		})
	}
}

// The trusted proxies reach the server's config, which newServer reads.
func TestTrustedProxiesConfig(t *testing.T) {
	o, _, err := parseOptions([]string{"-trusted-proxies", "10.0.0.0/8"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	if got := o.config().trustedProxies; !slices.Equal(got, want) {
		t.Errorf("config().trustedProxies = %v, want %v", got, want)
	}
}

func TestHelpIsNotAnError(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"help"}, {"-db", "x.db", "help", "serve"}} {
		var stdout, stderr syncBuffer
		if err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr); err != nil {
			t.Fatalf("run %q = %v, want nil", args, err)
		}
		if !strings.Contains(stdout.String(), "-token-ttl") || !strings.Contains(stdout.String(), "revoke USERNAME | -session ID") ||
			stderr.String() != "" {
			t.Errorf("run %q printed %q to stdout and %q to stderr, want the commands and flags on stdout", args, stdout.String(), stderr.String())
		}
	}
	if _, _, err := parseOptions([]string{"-help"}, func(string) string { return "" }, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("parseOptions -help = %v, want flag.ErrHelp", err)
	}
}
