package main

import (
	"net"
	"net/textproto"
	"regexp"
	"strings"
	"sync"
	"time"
)

// smtpSink is the contract run's mail server: enough SMTP on loopback to
// take the server's mails and keep them in memory, so the run can read a
// reset code and reach the routes that need one. It accepts every mail.
type smtpSink struct {
	ln    net.Listener
	mu    sync.Mutex
	mails []string
}

func startSMTPSink() (*smtpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &smtpSink{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(conn)
		}
	}()
	return s, nil
}

func (s *smtpSink) addr() string { return s.ln.Addr().String() }

func (s *smtpSink) close() { s.ln.Close() }

// serve speaks the server's side of one SMTP session: EHLO, MAIL, RCPT,
// DATA, QUIT; no extensions, so no STARTTLS and no AUTH.
func (s *smtpSink) serve(conn net.Conn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(time.Minute))
	tp := textproto.NewConn(conn)
	tp.PrintfLine("220 contract sink")
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		switch verb := strings.ToUpper(strings.SplitN(line, " ", 2)[0]); verb {
		case "EHLO", "HELO":
			tp.PrintfLine("250 contract sink")
		case "MAIL", "RCPT", "RSET", "NOOP":
			tp.PrintfLine("250 ok")
		case "DATA":
			tp.PrintfLine("354 go on")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.mails = append(s.mails, string(data))
			s.mu.Unlock()
			tp.PrintfLine("250 taken")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not here")
		}
	}
}

// resetCode matches a reset code in a mail; quoted-printable leaves it
// whole, as it is all letters and digits on a short line.
var resetCode = regexp.MustCompile(`tapr_[0-9A-Za-z]{49}`)

// waitResetCode waits for the nth mail (from 1) and returns the reset
// code in it, or "" after timeout.
func (s *smtpSink) waitResetCode(n int, timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		var mail string
		if len(s.mails) >= n {
			mail = s.mails[n-1]
		}
		s.mu.Unlock()
		if mail != "" {
			return resetCode.FindString(mail)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}
