-- The tokenapi schema. Each "-- version N" section below moves a database
-- from version N-1 to N (PRAGMA user_version): a new database runs them all,
-- an older one only those it has not run yet. Sections are never edited
-- once released; a change is a new section at the end.
--
-- Timestamps are fixed-width RFC 3339 UTC text written by Go
-- ("2006-01-02T15:04:05.000000Z"), so text order is time order and the same
-- SQL runs unchanged on a replicated SQLite server such as rqlite.
-- Uniqueness is enforced here, by UNIQUE constraints, never by a
-- check-then-insert in Go. Two accounts cannot differ only in case:
-- usernames are ASCII, so NOCASE is enough for them; NOCASE folds only ASCII
-- letters, so emails are unique through email_key, the address case-folded
-- in full Unicode by Go (emailKey), while email keeps it as the user wrote
-- it.

-- version 1

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE COLLATE NOCASE,
    email         TEXT NOT NULL,
    email_key     TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    about_me      TEXT,
    last_seen     TEXT NOT NULL
);

CREATE TABLE posts (
    id        INTEGER PRIMARY KEY,
    title     TEXT NOT NULL,
    body      TEXT NOT NULL,
    timestamp TEXT NOT NULL,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE
);

-- Serves both a user's post count and a user's posts newest first.
CREATE INDEX posts_by_user ON posts (user_id, id);

-- Only the SHA-256 hash of a token is kept (hex), so a copy of this file
-- holds no token that a client could present.
CREATE TABLE tokens (
    id         INTEGER PRIMARY KEY,
    hash       TEXT NOT NULL UNIQUE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL, -- when it was issued: for whoever reads the table
    expires_at TEXT NOT NULL
);

CREATE INDEX tokens_by_user ON tokens (user_id, id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- version 2: each user's post count is kept in the row, by triggers, so that
-- showing a user does not count its posts on every read.

ALTER TABLE users ADD COLUMN post_count INTEGER NOT NULL DEFAULT 0;

UPDATE users SET post_count = (SELECT COUNT(*) FROM posts WHERE posts.user_id = users.id);

CREATE TRIGGER posts_count_insert AFTER INSERT ON posts BEGIN
    UPDATE users SET post_count = post_count + 1 WHERE id = NEW.user_id;
END;

CREATE TRIGGER posts_count_delete AFTER DELETE ON posts BEGIN
    UPDATE users SET post_count = post_count - 1 WHERE id = OLD.user_id;
END;

-- version 3: failed password checks are counted here rather than in one
-- process's memory, so that a lockout holds across a restart, a rename and
-- every process on the file (see throttle.go for the keys). And emails are
-- unique under Unicode case folding: the binary recomputes every email_key
-- as it runs this step (see emailKey), and refuses to start if two
-- addresses fold together.

CREATE TABLE password_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL, -- in a row, each within the window of the last
    max_failures INTEGER NOT NULL, -- the count that locks this key
    last_failure TEXT NOT NULL,
    locked_until TEXT              -- NULL, or the end of a lockout
) WITHOUT ROWID;

CREATE INDEX password_failures_by_time ON password_failures (last_failure);

-- version 4: a token is a session its user can see and end. name and scope
-- are the client's choice when it logs in, user_agent is the User-Agent of
-- that login; last_used_at and the sliding expires_at are written in
-- batches by the caching store (cachingstore.go), and max_expires_at caps
-- a session's life from its creation whatever its use. Tokens from before
-- keep working: no name, scope write, no last use, their old expiry kept as
-- their cap.
-- users.created_at is NULL for users from before.

ALTER TABLE tokens ADD COLUMN name TEXT;
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'write';
ALTER TABLE tokens ADD COLUMN user_agent TEXT;
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE tokens ADD COLUMN max_expires_at TEXT;

UPDATE tokens SET max_expires_at = expires_at;

ALTER TABLE users ADD COLUMN created_at TEXT;

-- version 5: a session id names one session for ever. Without AUTOINCREMENT
-- SQLite hands the id of the newest row out again once that row is
-- deleted, so a client's id for DELETE /api/tokens/{id} could later name
-- someone else's session. The table is made anew with AUTOINCREMENT,
-- keeping every row and its id; sqlite_sequence then starts at the highest
-- id kept.

CREATE TABLE tokens_v5 (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    hash           TEXT NOT NULL UNIQUE,
    user_id        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL,
    name           TEXT,
    scope          TEXT NOT NULL DEFAULT 'write',
    user_agent     TEXT,
    last_used_at   TEXT,
    max_expires_at TEXT
);

INSERT INTO tokens_v5 (id, hash, user_id, created_at, expires_at, name, scope, user_agent, last_used_at, max_expires_at)
    SELECT id, hash, user_id, created_at, expires_at, name, scope, user_agent, last_used_at, max_expires_at FROM tokens;

DROP TABLE tokens;

ALTER TABLE tokens_v5 RENAME TO tokens;

CREATE INDEX tokens_by_user ON tokens (user_id, id);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

-- version 6: the addresses each account has logged in from (IPv6 by its
-- /64, as the throttle counts them), so that failures counted against a
-- shared address do not lock out the accounts known there (knownaddresses.go).
-- A row goes 30 days after the last login from its address.

CREATE TABLE known_addresses (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    last_login TEXT NOT NULL,
    PRIMARY KEY (user_id, address)
) WITHOUT ROWID;

CREATE INDEX known_addresses_by_time ON known_addresses (last_login);

-- version 7: the number of users and of posts, kept by triggers in the
-- same transaction as the insert or delete, so that a collection's
-- total_items is one row read rather than a COUNT(*) over a whole table
-- (46 ms for a million users). A trigger, not Go, keeps it: it is exact at
-- every commit whoever writes, another process on the file, the sqlite3
-- shell or an rqlite node, and a post deleted because its user was (ON
-- DELETE CASCADE) fires posts_total_delete too. Every write of a user or a
-- post now also writes this one hot row; SQLite has one writer at a time
-- anyway. A user's own posts are counted by users.post_count (version 2).

CREATE TABLE counts (
    name TEXT PRIMARY KEY, -- the table counted: 'users' or 'posts'
    n    INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO counts (name, n) VALUES
    ('users', (SELECT COUNT(*) FROM users)),
    ('posts', (SELECT COUNT(*) FROM posts));

CREATE TRIGGER users_total_insert AFTER INSERT ON users BEGIN
    UPDATE counts SET n = n + 1 WHERE name = 'users';
END;

CREATE TRIGGER users_total_delete AFTER DELETE ON users BEGIN
    UPDATE counts SET n = n - 1 WHERE name = 'users';
END;

CREATE TRIGGER posts_total_insert AFTER INSERT ON posts BEGIN
    UPDATE counts SET n = n + 1 WHERE name = 'posts';
END;

CREATE TRIGGER posts_total_delete AFTER DELETE ON posts BEGIN
    UPDATE counts SET n = n - 1 WHERE name = 'posts';
END;

-- version 8: an index of ids alone for each collection, though the id is
-- the rowid already. A page at offset k skips k entries (store.go,
-- pageOfIDs); in the table each entry is a whole row, a post with its
-- body, so the rowid order read page after page of bodies to skip them
-- (0.15-0.39 s to the middle of a million 500-byte posts, warm). These
-- indexes hold the id twice and nothing else, hundreds to a page, and the
-- same skip takes 0.02-0.03 s. Each insert writes one more entry.

CREATE INDEX posts_by_id ON posts (id);
CREATE INDEX users_by_id ON users (id);

-- version 9: each user's security log (events.go): logins, lockouts,
-- sessions ended, changes to the account. A row names its user; it goes
-- with the user (ON DELETE CASCADE) or after eventTTL (90 days), swept a
-- batch at a time through events_by_time. session_id is no foreign key:
-- the event outlives its session. Failed and locked-out logins are
-- coalesced, one row a minute for each account, its detail the count, so
-- that a flood of guesses adds a row a minute, not a row a guess; the
-- row of the minute is found through events_by_kind. users.event_count,
-- kept by triggers as post_count is (version 2), is the log's total_items,
-- one row read rather than a count of the user's events.

CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: a page's after= names one event for ever
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    at         TEXT NOT NULL,
    address    TEXT,
    user_agent TEXT,
    session_id INTEGER,
    detail     TEXT
);

CREATE INDEX events_by_user ON events (user_id, id);
CREATE INDEX events_by_kind ON events (user_id, type, at);
CREATE INDEX events_by_time ON events (at);

ALTER TABLE users ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0;

CREATE TRIGGER events_count_insert AFTER INSERT ON events BEGIN
    UPDATE users SET event_count = event_count + 1 WHERE id = NEW.user_id;
END;

CREATE TRIGGER events_count_delete AFTER DELETE ON events BEGIN
    UPDATE users SET event_count = event_count - 1 WHERE id = OLD.user_id;
END;

-- version 10: mail. The outbox holds each mail the API decided to send, as
-- the whole message, written in the same transaction as what it tells of
-- (outbox.go sends it and deletes it). A process claims a row for one
-- attempt by setting claimed_by and claimed_until in one conditional
-- UPDATE, and sets sending_at just before the message itself goes out:
-- a row with sending_at is never sent again (at most once), and one
-- whose claim ran out without it is tried again (a process died before
-- sending). password_resets holds the SHA-256 of each user's one live
-- reset token (a newer one replaces it); mail_requests is one row per
-- request a mail limit counts, by key (passwordreset.go), kept an hour.

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    message         TEXT NOT NULL, -- RFC 5322, CRLF line ends
    created_at      TEXT NOT NULL,
    give_up_at      TEXT NOT NULL,
    next_attempt_at TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    claimed_by      TEXT,
    claimed_until   TEXT,
    sending_at      TEXT
);

CREATE INDEX outbox_by_next_attempt ON outbox (next_attempt_at);

CREATE TABLE password_resets (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    expires_at TEXT NOT NULL
);

CREATE TABLE mail_requests (
    key TEXT NOT NULL,
    at  TEXT NOT NULL
);

CREATE INDEX mail_requests_by_key ON mail_requests (key, at);
CREATE INDEX mail_requests_by_time ON mail_requests (at);

-- version 11: deleting an account (DELETE /api/users/{id}, tokenapi
-- delete-user) is one DELETE of the user's row. Its posts, sessions and
-- known addresses go with it by their foreign keys (ON DELETE CASCADE);
-- the records of its failed password checks, keyed by text (throttle.go),
-- by the trigger below. And no id is given twice: SQLite gives a new row
-- max(id)+1, which after the newest account was deleted is that account's
-- id, and with it every link, cursor and cached entry that still names it.
-- A new user's id comes from this high-water mark instead (createUser).

CREATE TRIGGER users_id_high AFTER INSERT ON users BEGIN
    UPDATE counts SET n = NEW.id WHERE name = 'user_ids' AND n < NEW.id;
END;

INSERT INTO counts (name, n) VALUES ('user_ids', COALESCE((SELECT MAX(id) FROM users), 0));

CREATE TRIGGER users_delete_failures AFTER DELETE ON users BEGIN
    DELETE FROM password_failures
    WHERE key = 'user:' || OLD.id
       OR key LIKE 'user:' || OLD.id || ' from %'
       OR key = 'current_password of user:' || OLD.id;
END;

-- version 12: a second step at login, TOTP (RFC 6238; totp.go). A user's
-- secret is sealed with AES-256-GCM under a key kept outside this file
-- (secrets.go): a copy of the file alone holds no secret a client could
-- use. pending_secret is an enrolment not confirmed yet, which a newer
-- enrolment replaces; secret is set once a code confirms it, and TOTP is
-- on while it is. last_step is the last time step a code was accepted for,
-- so that a code works once. Recovery codes are kept as SHA-256 hashes and
-- deleted as they are used; they go with their totp row.
-- secret_key_check holds one value sealed with the key, so that a start
-- with another key fails at once rather than refusing every code.

CREATE TABLE totp (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret         TEXT,
    pending_secret TEXT,
    last_step      INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE totp_recovery_codes (
    user_id INTEGER NOT NULL REFERENCES totp (user_id) ON DELETE CASCADE,
    hash    TEXT NOT NULL,
    PRIMARY KEY (user_id, hash)
) WITHOUT ROWID;

CREATE TABLE secret_key_check (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    sealed TEXT NOT NULL
);

-- version 13: verified addresses and new-device alerts (verifyemail.go,
-- newdevice.go). users.email_verified is 1 once a code mailed to the
-- address came back; every account from before starts unverified, since
-- nothing ever proved its address. email_verifications holds the SHA-256
-- of each user's one live verification code (a newer one replaces it)
-- with the email_key it was sent to, so that a code for an address the
-- user has since left verifies nothing. known_devices is each address
-- (IPv6 by its /64) and user agent an account logged in from, kept 30
-- days after the last login from them, as known_addresses is.

ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;

CREATE TABLE email_verifications (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash       TEXT NOT NULL UNIQUE,
    email_key  TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

CREATE INDEX email_verifications_by_expiry ON email_verifications (expires_at);

CREATE TABLE known_devices (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    address    TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    last_login TEXT NOT NULL,
    PRIMARY KEY (user_id, address, user_agent)
) WITHOUT ROWID;

CREATE INDEX known_devices_by_time ON known_devices (last_login);
