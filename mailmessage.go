package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"
)

// composeMail is a whole message, ready for the outbox: plain text in
// UTF-8, quoted-printable, with CRLF line ends. Names and the subject
// that are not ASCII are encoded words (RFC 2047, by net/mail and
// mime.QEncoding), so "Blog Ünlü" reads right in any client. The
// Message-ID is made here, once: a retried send is the same message.
// Auto-Submitted tells vacation responders not to answer it (RFC 3834).
func composeMail(from, to mail.Address, subject, body string, at time.Time) string {
	var b strings.Builder
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("Date", at.Format(time.RFC1123Z))
	header("Message-ID", newMessageID(from.Address))
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	header("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b) // writes CRLF for each line end
	qp.Write([]byte(body))
	qp.Close()
	return b.String()
}

// newMessageID is a unique Message-ID in the sender's domain.
func newMessageID(fromAddress string) string {
	random := make([]byte, 16)
	rand.Read(random)
	domain := "tokenapi.invalid"
	if _, d, ok := strings.Cut(fromAddress, "@"); ok && d != "" {
		domain = d
	}
	return "<" + hex.EncodeToString(random) + "@" + domain + ">"
}

// resetMailBody is the password reset mail: the code to paste, how to use
// it, and the link when -reset-url-template makes one.
func resetMailBody(username, token, urlTemplate string, valid time.Duration) string {
	var b strings.Builder
	b.WriteString("Hello " + username + ",\n\n")
	b.WriteString("someone, we hope you, asked to reset your password. Your code,\n")
	fmt.Fprintf(&b, "good once and for %d minutes:\n\n", int(valid.Minutes()))
	b.WriteString("    " + token + "\n\n")
	if urlTemplate != "" {
		b.WriteString("Open this link to choose a new password:\n\n    " +
			strings.ReplaceAll(urlTemplate, resetURLToken, token) + "\n\n")
	}
	b.WriteString("Send it with a new password to POST /api/password-reset/confirm:\n\n")
	b.WriteString(`    {"token": "<the code>", "password": "<a new password>"}` + "\n\n")
	b.WriteString("Every session of your account then ends. If you did not ask for\n")
	b.WriteString("this, ignore this mail: your password stays as it is.\n")
	return b.String()
}
