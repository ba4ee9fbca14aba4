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

// verifyMailBody is the mail that verifies an address: the code to paste
// and where it goes.
func verifyMailBody(username, token string, valid time.Duration) string {
	var b strings.Builder
	b.WriteString("Hello " + username + ",\n\n")
	b.WriteString("this address was given for your account. To confirm it is yours,\n")
	fmt.Fprintf(&b, "send this code, good once and for %d hours:\n\n", int(valid.Hours()))
	b.WriteString("    " + token + "\n\n")
	b.WriteString("to POST /api/email-verification/confirm:\n\n")
	b.WriteString(`    {"token": "<the code>"}` + "\n\n")
	b.WriteString("If you did not sign up or change your address, ignore this mail:\n")
	b.WriteString("the address stays unverified.\n")
	return b.String()
}

// newDeviceMailBody tells of a login from an address and client the
// account had not used for 30 days, and how to end that session.
func newDeviceMailBody(username string, at time.Time, address, userAgent string, sessionID int64) string {
	if userAgent == "" {
		userAgent = "(none given)"
	}
	var b strings.Builder
	b.WriteString("Hello " + username + ",\n\n")
	b.WriteString("your account was logged in to from a device it has not used\n")
	b.WriteString("in the last 30 days:\n\n")
	b.WriteString("    When:    " + at.UTC().Format("2006-01-02 15:04:05 UTC") + "\n")
	b.WriteString("    From:    " + address + "\n")
	b.WriteString("    Client:  " + userAgent + "\n")
	fmt.Fprintf(&b, "    Session: %d\n\n", sessionID)
	b.WriteString("If that was you, there is nothing to do. If not, end that session\n")
	fmt.Fprintf(&b, "with any token of yours that may write:\n\n    DELETE /api/tokens/%d\n\n", sessionID)
	b.WriteString("and change your password (PUT /api/users/{id}), which ends every\n")
	b.WriteString("other session too.\n")
	return b.String()
}

// farewellMailBody confirms that an account was deleted.
func farewellMailBody(username string) string {
	return "Hello " + username + ",\n\n" +
		"your account and everything of it (posts, sessions, security log)\n" +
		"were deleted, as asked. The username and this address are free again.\n" +
		"If you did not ask for this, tell the operator of the service: the\n" +
		"account cannot be brought back, but they can look into how it went.\n"
}
