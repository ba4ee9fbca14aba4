package main

import (
	"context"
	"database/sql"
	"errors"
)

// The SQL of the second step (schema.sql, version 9). Secrets come and go
// sealed (secrets.go): the store never sees one in clear.

// errTOTPEnabled is a new enrolment for a user whose TOTP is on already.
var errTOTPEnabled = errors.New("TOTP is on already")

// totpRecord is a user's row of the totp table. Secret is "" while TOTP
// is off, PendingSecret "" when no enrolment waits for its confirmation.
type totpRecord struct {
	Secret        string // sealed
	PendingSecret string // sealed
	LastStep      int64
}

func (t totpRecord) enabled() bool { return t.Secret != "" }

// totpOf returns a user's totp row, or errNotFound when the user never
// enrolled (or turned TOTP off with no enrolment pending).
func (s *sqlStore) totpOf(ctx context.Context, userID int64) (totpRecord, error) {
	var secret, pending sql.NullString
	var t totpRecord
	err := s.read.QueryRowContext(ctx,
		`SELECT secret, pending_secret, last_step FROM totp WHERE user_id = ?`, userID).Scan(&secret, &pending, &t.LastStep)
	if errors.Is(err, sql.ErrNoRows) {
		return totpRecord{}, errNotFound
	}
	t.Secret, t.PendingSecret = secret.String, pending.String
	return t, err
}

// setPendingTOTP stores a new enrolment, replacing one not confirmed yet.
// It returns errTOTPEnabled, and changes nothing, when TOTP is on.
func (s *sqlStore) setPendingTOTP(ctx context.Context, userID int64, sealed string) error {
	err := rowsAffectedOrNotFound(s.execResult(ctx,
		`INSERT INTO totp (user_id, pending_secret) VALUES (?, ?)
		ON CONFLICT (user_id) DO UPDATE SET pending_secret = excluded.pending_secret WHERE totp.secret IS NULL`,
		userID, sealed))
	if errors.Is(err, errNotFound) {
		return errTOTPEnabled
	}
	return err
}

// enableTOTP turns TOTP on with the pending secret that a code of step
// confirmed, and stores the recovery codes' hashes, in place of any
// before. The codes go first: should the second statement fail, TOTP is
// still off, and a confirmation again replaces them. It returns
// errNotFound when the pending secret is no longer pending (a newer
// enrolment replaced it, or another confirmation won).
func (s *sqlStore) enableTOTP(ctx context.Context, userID int64, pending string, step int64, codeHashes []string) error {
	if err := s.replaceRecoveryCodes(ctx, userID, codeHashes); err != nil {
		return err
	}
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`UPDATE totp SET secret = pending_secret, pending_secret = NULL, last_step = ?
		WHERE user_id = ? AND pending_secret = ? AND secret IS NULL`, step, userID, pending))
}

// replaceRecoveryCodes stores a user's recovery codes' hashes in place of
// those before, all or none.
func (s *sqlStore) replaceRecoveryCodes(ctx context.Context, userID int64, codeHashes []string) error {
	return s.execAtomic(ctx, func(ctx context.Context, tx execer) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM totp_recovery_codes WHERE user_id = ?`, userID); err != nil {
			return err
		}
		for _, h := range codeHashes {
			if _, err := tx.ExecContext(ctx, `INSERT INTO totp_recovery_codes (user_id, hash) VALUES (?, ?)`, userID, h); err != nil {
				return err
			}
		}
		return nil
	})
}

// useTOTPStep records that a code of step was accepted, and returns
// errNotFound when a code of that step or a later one was accepted
// before: one statement, so two logins with the same code cannot both
// pass.
func (s *sqlStore) useTOTPStep(ctx context.Context, userID, step int64) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`UPDATE totp SET last_step = ? WHERE user_id = ? AND secret IS NOT NULL AND last_step < ?`, step, userID, step))
}

// useRecoveryCode deletes a recovery code by its hash, and returns
// errNotFound when the user has no such code (never had, or used it).
func (s *sqlStore) useRecoveryCode(ctx context.Context, userID int64, hash string) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`DELETE FROM totp_recovery_codes WHERE user_id = ? AND hash = ?`, userID, hash))
}

// disableTOTP turns a user's TOTP off; the recovery codes go with it. It
// returns errNotFound when TOTP was off.
func (s *sqlStore) disableTOTP(ctx context.Context, userID int64) error {
	return rowsAffectedOrNotFound(s.execResult(ctx,
		`DELETE FROM totp WHERE user_id = ? AND secret IS NOT NULL`, userID))
}

// secretKeyCheck returns the sealed check value of the secret key, or ""
// when none was stored yet (secrets.go).
func (s *sqlStore) secretKeyCheck(ctx context.Context) (string, error) {
	var sealed string
	err := s.read.QueryRowContext(ctx, `SELECT sealed FROM secret_key_check WHERE id = 1`).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return sealed, err
}

// storeSecretKeyCheck stores sealed as the check value unless one is
// stored already, and returns the one that stands.
func (s *sqlStore) storeSecretKeyCheck(ctx context.Context, sealed string) (string, error) {
	if _, err := s.execResult(ctx,
		`INSERT INTO secret_key_check (id, sealed) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, sealed); err != nil {
		return "", err
	}
	// The insert is committed: a read connection sees it, or the one that
	// stood before.
	var stands string
	err := s.read.QueryRowContext(ctx, `SELECT sealed FROM secret_key_check WHERE id = 1`).Scan(&stands)
	return stands, err
}
