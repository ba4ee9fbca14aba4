package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"
)

// smtpServer is where mail goes: -smtp-url, smtp://[user:pass@]host:port
// (STARTTLS whenever the server offers it, and required when there are
// credentials) or smtps://... (TLS from the first byte). Its String
// leaves the credentials out, and nothing else of it is ever logged or
// printed: a password given on the command line stays there.
type smtpServer struct {
	host, port     string
	implicitTLS    bool // smtps://
	user, password string
}

// String is the server as the log may show it: scheme, host and port,
// and the user name at most, never the password.
func (s smtpServer) String() string {
	scheme := "smtp"
	if s.implicitTLS {
		scheme = "smtps"
	}
	return scheme + "://" + net.JoinHostPort(s.host, s.port)
}

func (s smtpServer) hasCredentials() bool { return s.user != "" || s.password != "" }

// parseSMTPURL reads -smtp-url. Its errors never quote the URL, which may
// hold a password: they say what is wrong with which part.
func parseSMTPURL(s string, dst **smtpServer) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("is not a URL such as smtp://user:password@mail.example.com:587 (the value is not repeated here: it may hold a password)")
	}
	srv := &smtpServer{host: u.Hostname(), port: u.Port()}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		srv.implicitTLS = true
	default:
		return errors.New("must start with smtp:// or smtps://")
	}
	switch {
	case srv.host == "":
		return errors.New("has no host: smtp://[user:password@]host:port")
	case srv.port == "":
		return errors.New("has no port: smtp://[user:password@]host:port (587 for STARTTLS, 465 for smtps://)")
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.Fragment != "":
		return errors.New("must be only smtp://[user:password@]host:port, with no path or query")
	}
	if u.User != nil {
		srv.user = u.User.Username()
		srv.password, _ = u.User.Password()
	}
	*dst = srv
	return nil
}

// parseMailFrom reads -mail-from, an address with or without a name:
// "tokenapi <noreply@example.com>".
func parseMailFrom(s string, dst **mail.Address) error {
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return fmt.Errorf("%q is not an address such as noreply@example.com or \"Blog <noreply@example.com>\"", s)
	}
	*dst = addr
	return nil
}

// resetURLToken is what -reset-url-template's {token} is replaced with.
const resetURLToken = "{token}"

// parseResetURLTemplate reads -reset-url-template: an http or https URL
// with {token} in it, for a deployment with a page that takes the code.
func parseResetURLTemplate(s string, dst *string) error {
	u, err := url.Parse(strings.ReplaceAll(s, resetURLToken, "x"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.Contains(s, resetURLToken) {
		return fmt.Errorf("%q is not an http(s) URL with %s in it, such as https://example.com/reset?token=%s", s, resetURLToken, resetURLToken)
	}
	*dst = s
	return nil
}

// mailOptions are the mail flags (mailFlags), part of options.
type mailOptions struct {
	smtp             *smtpServer   // nil: no mail
	mailFrom         *mail.Address // with smtp
	resetURLTemplate string
	verifiedOnly     bool // -require-verified-email
}

// mailConfig is what the server needs to send mail; a server without it
// answers the mail routes 501.
type mailConfig struct {
	smtp             smtpServer
	from             mail.Address
	resetURLTemplate string // "" for a code to paste only
	requireVerified  bool   // -require-verified-email: only verified addresses log in
	// retryAfter is the wait before attempt n+1 of a mail (outbox.go);
	// tests shorten it.
	retryAfter func(attempts int) time.Duration
	pollEvery  time.Duration // how often the sender looks for mail other processes queued
}

// mailFlags adds the mail flags to fs; value is flagSet's, which keeps a
// refused value's message.
func (o *options) mailFlags(fs *flag.FlagSet, value func(func(string) error) func(string) error) {
	fs.Func("smtp-url", "the mail server, smtp://[user:password@]host:port (STARTTLS) or smtps://... (TLS);\n"+
		"without it the mail routes answer 501 (TOKENAPI_SMTP_URL; default none)",
		value(func(s string) error { return parseSMTPURL(s, &o.smtp) }))
	fs.Func("mail-from", "the From of the mails, e.g. \"Blog <noreply@example.com>\" (TOKENAPI_MAIL_FROM; required with -smtp-url)",
		value(func(s string) error { return parseMailFrom(s, &o.mailFrom) }))
	fs.Func("reset-url-template", "a link for the reset mail, with {token} in it, e.g. https://example.com/reset?token={token}\n"+
		"(TOKENAPI_RESET_URL_TEMPLATE; default none: the mail carries a code to paste)",
		value(func(s string) error { return parseResetURLTemplate(s, &o.resetURLTemplate) }))
	fs.BoolVar(&o.verifiedOnly, "require-verified-email", false,
		"refuse logins (403) of accounts whose email is not verified; needs -smtp-url (TOKENAPI_REQUIRE_VERIFIED_EMAIL)")
}

// checkMail refuses mail flags that make no sense together.
func (o options) checkMail() error {
	if (o.smtp == nil) != (o.mailFrom == nil) {
		return errors.New("-smtp-url and -mail-from must be given together")
	}
	if o.resetURLTemplate != "" && o.smtp == nil {
		return errors.New("-reset-url-template needs -smtp-url")
	}
	if o.verifiedOnly && o.smtp == nil {
		return errors.New("-require-verified-email needs -smtp-url: without mail no address can be verified, and nobody could log in")
	}
	return nil
}

// mailConfig is the server's mail configuration as o sets it, or nil.
func (o options) mailConfig() *mailConfig {
	if o.smtp == nil {
		return nil
	}
	return &mailConfig{smtp: *o.smtp, from: *o.mailFrom, resetURLTemplate: o.resetURLTemplate,
		requireVerified: o.verifiedOnly, retryAfter: outboxRetryAfter, pollEvery: outboxPollInterval}
}
