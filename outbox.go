package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"
)

// The sender: it sends the outbox (store_outbox.go) in the background,
// one mail at a time, each over a connection of its own (mailsend.go).
// What it promises:
//   - nothing accepted is lost: a mail is a row, written with what it
//     tells of, and deleted only once sent, refused for good (5xx) or
//     given up after its give_up_at (24 hours; a reset mail's token dies
//     sooner, and so does its mail);
//   - at most once per row as far as the SMTP server's answer can tell:
//     the row is marked as being sent before the message goes, and a
//     marked row is never sent again, though a crash after the mark may
//     lose it;
//   - two processes never send one row: each claims mail with one
//     conditional UPDATE (claimMail).
//
// A mail the server does not take now (connection refused, a 4xx) waits
// outboxRetryAfter, doubling from a second to five minutes.

// outboxPollInterval is how often the sender looks for mail that other
// processes queued, or whose wait ended; mail queued here wakes it at once.
const outboxPollInterval = time.Second

// outboxGiveUpAfter is how long a mail is tried.
const outboxGiveUpAfter = 24 * time.Hour

// outboxClaimBatch is how many mails one claim takes.
const outboxClaimBatch = 10

// outboxRetryAfter is the wait after a mail's attempt number attempts+1
// failed: 1 s, 2 s, 4 s, ... at most 5 minutes.
func outboxRetryAfter(attempts int) time.Duration {
	if attempts >= 9 {
		return 5 * time.Minute
	}
	return min(time.Second<<attempts, 5*time.Minute)
}

// notifyMailQueued wakes the sender, if it sleeps, after a request queued
// a mail.
func (s *server) notifyMailQueued() {
	select {
	case s.mailQueued <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// mailSender sends the outbox of db.
type mailSender struct {
	db  *sqlStore
	cfg *mailConfig
	log *slog.Logger
	now func() time.Time
}

// startMailSender starts the sender for the server's mail configuration,
// on db, which must be the store the server's own store wraps. The
// function it returns stops it, waiting for a mail being sent (at most
// smtpTimeout).
func (s *server) startMailSender(db *sqlStore) (stop func()) {
	if s.mail == nil {
		return func() {}
	}
	m := &mailSender{db: db, cfg: s.mail, log: s.log, now: s.now}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			m.sendDue(ctx)
			select {
			case <-ctx.Done():
				return
			case <-s.mailQueued:
			case <-time.After(m.cfg.pollEvery):
			}
		}
	}()
	return sync.OnceFunc(func() {
		cancel()
		<-done
	})
}

// sendDue sends every mail due now, a claimed batch at a time.
func (m *mailSender) sendDue(ctx context.Context) {
	now := m.now()
	if n, err := m.db.deleteCutShortMail(ctx, now); err != nil && ctx.Err() == nil {
		m.log.Error("outbox: delete mail cut short", "error", err)
	} else if n > 0 {
		m.log.Warn("outbox: mail cut short while being sent, not sent again; the SMTP server may or may not have it", "count", n)
	}
	for ctx.Err() == nil {
		if due, err := m.db.mailDue(ctx, now); err != nil || !due {
			if err != nil && ctx.Err() == nil {
				m.log.Error("outbox: read", "error", err)
			}
			return
		}
		owner := newClaimOwner()
		mails, err := m.db.claimMail(ctx, owner, now, now.Add(2*smtpTimeout), outboxClaimBatch)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Error("outbox: claim", "error", err)
			}
			return
		}
		for _, mail := range mails {
			m.sendOne(ctx, mail, owner)
		}
		now = m.now()
	}
}

// newClaimOwner names one claim: the rows it took are those with its name.
func newClaimOwner() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// sendOne makes one attempt at a mail owner claimed, and settles its row.
func (m *mailSender) sendOne(ctx context.Context, mail outboxMail, owner string) {
	now := m.now()
	log := m.log.With("mail", mail.ID, "attempts", mail.Attempts+1)
	if !now.Before(mail.GiveUpAt) {
		log.Error("outbox: gave up on a mail not sent in time", "give_up_at", formatTime(mail.GiveUpAt))
		m.settle(ctx, log, m.db.deleteMail(ctx, mail.ID))
		return
	}
	outcome, err := deliver(ctx, m.cfg.smtp, m.cfg.from.Address, mail.Recipient, mail.Message, func() error {
		return m.db.markMailSending(ctx, mail.ID, owner, now)
	})
	switch outcome {
	case delivered:
		log.Info("outbox: mail sent")
		m.settle(ctx, log, m.db.deleteMail(ctx, mail.ID))
	case tryLater:
		wait := m.cfg.retryAfter(mail.Attempts)
		log.Warn("outbox: mail not sent; will try again", "error", err, "retry_in", wait)
		m.settle(ctx, log, m.db.retryMail(ctx, mail.ID, owner, now.Add(wait)))
	case refused:
		log.Error("outbox: mail refused by the SMTP server; given up", "error", err)
		m.settle(ctx, log, m.db.deleteMail(ctx, mail.ID))
	case unsure:
		log.Warn("outbox: cut off after the message went; the SMTP server may or may not have it, and it is not sent again", "error", err)
		m.settle(ctx, log, m.db.deleteMail(ctx, mail.ID))
	case claimLost:
		log.Info("outbox: another process has taken the mail over")
	}
}

// settle logs a failure to write what became of a mail. A sent mail left
// marked is deleted once its claim runs out (deleteCutShortMail), never
// sent again; one left claimed is tried again then.
func (m *mailSender) settle(ctx context.Context, log *slog.Logger, err error) {
	if err != nil && ctx.Err() == nil {
		log.Error("outbox: write what became of a mail", "error", err)
	}
}
