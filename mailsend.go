package main

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/smtp"
	"net/textproto"
	"time"
)

// smtpTimeout bounds one mail's whole SMTP conversation, so that a
// server that stops answering cannot hold a claim past its end (outbox.go).
const smtpTimeout = time.Minute

// deliveryOutcome is what one attempt to send a mail came to.
type deliveryOutcome int

const (
	delivered deliveryOutcome = iota // the server took it: delete it
	tryLater                         // down, 4xx, or no TLS for credentials: retry after a while
	refused                          // 5xx: it never will
	unsure                           // cut off after the message went: it may have it, so not again
	claimLost                        // another process has the mail now
)

// deliver sends one message to one recipient over a connection of its
// own. markSending runs once the server has taken the envelope, just
// before the message goes: if it fails, nothing is sent.
func deliver(ctx context.Context, srv smtpServer, from, to, message string, markSending func() error) (deliveryOutcome, error) {
	ctx, cancel := context.WithTimeout(ctx, smtpTimeout)
	defer cancel()
	conn, err := dialSMTP(ctx, srv)
	if err != nil {
		return tryLater, err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) }) // shutdown cuts it short
	defer stop()

	c, err := smtp.NewClient(conn, srv.host)
	if err != nil {
		return tryLater, err
	}
	defer c.Close()
	if err := secure(c, srv); err != nil {
		// Even a 5xx here (credentials refused) is the operator's to fix,
		// not the mail's fault: it waits for the fix.
		return tryLater, err
	}
	if err := c.Mail(from); err != nil {
		return outcomeOf(err), err
	}
	if err := c.Rcpt(to); err != nil {
		return outcomeOf(err), err
	}
	if err := markSending(); err != nil {
		if errors.Is(err, errNotFound) {
			return claimLost, err
		}
		return tryLater, err
	}
	return sendData(c, message)
}

// dialSMTP opens the connection, in TLS from the start for smtps://.
func dialSMTP(ctx context.Context, srv smtpServer) (net.Conn, error) {
	addr := net.JoinHostPort(srv.host, srv.port)
	if srv.implicitTLS {
		d := tls.Dialer{Config: &tls.Config{ServerName: srv.host, MinVersion: tls.VersionTLS12}}
		return d.DialContext(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// errNoSTARTTLS stops a mail whose credentials would go in clear.
var errNoSTARTTLS = errors.New("the SMTP server does not offer STARTTLS, and the credentials of -smtp-url are never sent without TLS")

// secure starts TLS when the server offers it (smtps:// has it already),
// requires it when there are credentials, and logs in with them.
func secure(c *smtp.Client, srv smtpServer) error {
	if !srv.implicitTLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(&tls.Config{ServerName: srv.host, MinVersion: tls.VersionTLS12}); err != nil {
				return err
			}
		} else if srv.hasCredentials() {
			return errNoSTARTTLS
		}
	}
	if !srv.hasCredentials() {
		return nil
	}
	return c.Auth(smtp.PlainAuth("", srv.user, srv.password, srv.host))
}

// sendData sends the message, already marked as being sent. Until the
// final dot the server holds nothing it could deliver, so a failure there
// is tried again; once the dot went, only the server's answer tells, and
// without one the mail is not sent again.
func sendData(c *smtp.Client, message string) (deliveryOutcome, error) {
	w, err := c.Data()
	if err != nil {
		return outcomeOf(err), err
	}
	if _, err := w.Write([]byte(message)); err != nil {
		return tryLater, err
	}
	if err := w.Close(); err != nil {
		var reply *textproto.Error
		if errors.As(err, &reply) {
			return outcomeOf(err), err
		}
		return unsure, err
	}
	c.Quit() // the server has the mail; a lost goodbye changes nothing
	return delivered, nil
}

// outcomeOf sorts a failed command: a 5xx answer is final, anything else
// (a 4xx, a broken connection, no TLS) may pass later.
func outcomeOf(err error) deliveryOutcome {
	var reply *textproto.Error
	if errors.As(err, &reply) && reply.Code >= 500 {
		return refused
	}
	return tryLater
}
