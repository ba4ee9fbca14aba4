package main

import (
	"bufio"
	"io"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// smtpSink is a real SMTP server on loopback for the tests: Debian's
// python3-aiosmtpd, with its Mailbox handler writing each mail it takes
// into a maildir, which the test reads. .ci/run installs it.
type smtpSink struct {
	addr string // 127.0.0.1:port, kept across stop and start
	dir  string // the maildir
	cmd  *exec.Cmd
	exit chan struct{}
}

// newSMTPSink picks a free port and a maildir; start starts the server.
// A test that wants the server down at first starts it later.
func newSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &smtpSink{addr: addr, dir: filepath.Join(t.TempDir(), "maildir")}
	t.Cleanup(s.stop)
	return s
}

// startSMTPSink is newSMTPSink, started.
func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	s := newSMTPSink(t)
	s.start(t)
	return s
}

// aiosmtpdPython is a python3 that has aiosmtpd: Debian's own, which the
// package installs into, before any other on PATH.
func aiosmtpdPython(t *testing.T) string {
	t.Helper()
	for _, python := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(python, "-c", "import aiosmtpd").Run() == nil {
			return python
		}
	}
	t.Fatal("no python3 with aiosmtpd: apt-get install python3-aiosmtpd (.ci/run does)")
	return ""
}

// start runs the server and waits until it greets.
func (s *smtpSink) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(aiosmtpdPython(t), "-m", "aiosmtpd", "-n", "-l", s.addr, "-c", "aiosmtpd.handlers.Mailbox", s.dir)
	s.cmd.Stdout, s.cmd.Stderr = io.Discard, io.Discard
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start aiosmtpd: %v", err)
	}
	s.exit = make(chan struct{})
	go func(cmd *exec.Cmd, exit chan struct{}) {
		cmd.Wait()
		close(exit)
	}(s.cmd, s.exit)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if conn, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			line, _ := bufio.NewReader(conn).ReadString('\n')
			conn.Close()
			if strings.HasPrefix(line, "220") {
				return
			}
		}
		select {
		case <-s.exit:
			t.Fatalf("aiosmtpd on %s exited before it served", s.addr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("aiosmtpd on %s did not greet within 30s", s.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server, if it runs.
func (s *smtpSink) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.exit
	s.cmd = nil
}

// url is the -smtp-url of the sink, with userinfo ("" for none).
func (s *smtpSink) url(userinfo string) string {
	if userinfo != "" {
		userinfo += "@"
	}
	return "smtp://" + userinfo + s.addr
}

// receivedMail is one mail the sink took, its body decoded.
type receivedMail struct {
	header mail.Header
	to     string // the envelope's, X-RcptTo
	body   string
}

// resetTokenInMail finds a reset token or a verification code in a
// mail's body.
var resetTokenInMail = regexp.MustCompile(`tap[rv]_[0-9A-Za-z]+`)

func (m receivedMail) token(t testing.TB) string {
	t.Helper()
	token := resetTokenInMail.FindString(m.body)
	if token == "" {
		t.Fatalf("no reset token in the mail:\n%s", m.body)
	}
	return token
}

// mails reads every mail the sink has taken, oldest first.
func (s *smtpSink) mails(t testing.TB) []receivedMail {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.dir, "new"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	var mails []receivedMail
	for _, e := range entries {
		f, err := os.Open(filepath.Join(s.dir, "new", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(f)
		if err != nil {
			f.Close()
			t.Fatalf("mail %s: %v", e.Name(), err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		f.Close()
		if err != nil {
			t.Fatalf("mail %s: quoted-printable body: %v", e.Name(), err)
		}
		mails = append(mails, receivedMail{header: msg.Header, to: msg.Header.Get("X-RcptTo"), body: string(body)})
	}
	return mails
}

// waitMails waits until the sink has taken n mails, and returns them.
func (s *smtpSink) waitMails(t testing.TB, n int) []receivedMail {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mails := s.mails(t)
		if len(mails) >= n {
			return mails
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SMTP server has %d mails after 30s, want %d", len(mails), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mailsAbout is mails with subject alone, oldest first by their Date (the
// test's clock, when the mail was queued): the maildir's file names order
// the mails only to the second.
func (s *smtpSink) mailsAbout(t testing.TB, subject string) []receivedMail {
	t.Helper()
	var about []receivedMail
	for _, m := range s.mails(t) {
		if m.header.Get("Subject") == subject {
			about = append(about, m)
		}
	}
	sort.SliceStable(about, func(i, j int) bool {
		a, _ := about[i].header.Date()
		b, _ := about[j].header.Date()
		return a.Before(b)
	})
	return about
}

// waitMailsAbout waits until the sink has taken n mails with subject,
// and returns those.
func (s *smtpSink) waitMailsAbout(t testing.TB, subject string, n int) []receivedMail {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mails := s.mailsAbout(t, subject)
		if len(mails) >= n {
			return mails
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SMTP server has %d mails about %q after 30s, want %d", len(mails), subject, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
