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

// The codes the mails carry: a reset code, tapr_, and an email
// verification code, tapv_. Quoted-printable leaves them whole, as they
// are all letters and digits on a short line.
const (
	resetCodePrefix  = "tapr_"
	verifyCodePrefix = "tapv_"
)

// waitCode waits for the nth mail (from 1) to address to that carries a
// code with prefix, and returns that code, or "" after timeout.
func (s *smtpSink) waitCode(prefix, address string, n int, timeout time.Duration) string {
	code := regexp.MustCompile(regexp.QuoteMeta(prefix) + `[0-9A-Za-z]{49}`)
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var codes []string
		s.mu.Lock()
		for _, mail := range s.mails {
			if c := code.FindString(mail); c != "" && strings.Contains(mail, "<"+address+">") {
				codes = append(codes, c)
			}
		}
		s.mu.Unlock()
		if len(codes) >= n {
			return codes[n-1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}
