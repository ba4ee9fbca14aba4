package main

// Crosses the whole program: examples/reset.sh against a real SMTP server.

import (
	"strings"
	"testing"
)

// examples/reset.sh runs its whole course against a program that sends
// its mail to a real SMTP server, reading the code from the server's
// maildir. (TestExamples runs it too, on a program without mail: there
// it stops at the 501.)
func TestResetExample(t *testing.T) {
	sink := startSMTPSink(t)
	p := startProgram(t, t.TempDir(), []string{"-addr", "127.0.0.1:0", "-db", "tokenapi.db",
		"-smtp-url", sink.url(""), "-mail-from", "noreply@blog.example"}, cheapPasswords)
	out := runExample(t, "examples/reset.sh", "TOKENAPI_URL="+p.base, "TOKENAPI_MAILDIR="+sink.dir)
	for _, want := range []string{"HTTP/1.1 202 Accepted", "HTTP/1.1 204 No Content", "HTTP/1.1 401 Unauthorized", "HTTP/1.1 400 Bad Request"} {
		if !strings.Contains(out, want) {
			t.Errorf("examples/reset.sh printed no %q:\n%s", want, out)
		}
	}
}
