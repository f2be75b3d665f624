-- 001_init.sql -- the security database (security.db): accounts, sessions,
-- API tokens, sign-in throttling and the audit chain.
--
-- Applied by secstore.c, which embeds a byte-identical copy of this file
-- (test_secstore checks they match). Migrations run in one transaction; the
-- schema version is meta.schema_version. Never edit a released migration:
-- add the next number. Times are milliseconds since the epoch, UTC.

-- Key/value metadata: schema_version.
CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Local accounts (and machine accounts that only hold API tokens). The
-- password is an argon2id string from crypto_pwhash_str; NULL means the
-- account cannot sign in with a password. scope is a comma-separated list
-- of organisation unit ids (subtree roots).
CREATE TABLE users (
  id         INTEGER PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  role       TEXT NOT NULL,
  scope      TEXT NOT NULL,
  pwhash     TEXT,
  disabled   INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

-- Browser sessions. Only a BLAKE2b-256 hash of the 256-bit session token is
-- kept, so a copy of this table does not sign anyone in. role and scope are
-- what sign-in granted (directory users have no row in users); for local
-- users they are re-read from users on every request.
CREATE TABLE sessions (
  token_hash BLOB NOT NULL PRIMARY KEY CHECK (length(token_hash) = 32),
  user       TEXT NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('local', 'ldap')),
  role       TEXT NOT NULL,
  scope      TEXT NOT NULL,
  csrf       TEXT NOT NULL,
  address    TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX sessions_user ON sessions (user);

-- API tokens for machine clients ("tk_" + 43 base64url characters), kept as
-- a BLAKE2b-256 hash. A token acts with its user's current role and scope.
CREATE TABLE tokens (
  id         INTEGER PRIMARY KEY,
  token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  user       TEXT NOT NULL REFERENCES users (name),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,  -- 0: never
  revoked_at INTEGER NOT NULL,  -- 0: not revoked
  last_used  INTEGER NOT NULL   -- 0: never used
);
CREATE INDEX tokens_user ON tokens (user);

-- Sign-in throttling: failures per user name ('user') and per client
-- address ('addr'), with the instant until which sign-in is refused.
CREATE TABLE throttle (
  kind         TEXT NOT NULL CHECK (kind IN ('user', 'addr')),
  key          TEXT NOT NULL,
  failures     INTEGER NOT NULL,
  last_failure INTEGER NOT NULL,
  locked_until INTEGER NOT NULL,
  PRIMARY KEY (kind, key)
) WITHOUT ROWID;

-- The audit log: one row per person-level view, recording or security
-- action, numbered 1, 2, 3, ... without gaps. hash is BLAKE2b-256 over the
-- previous row's hash (32 zero bytes before the first) and the canonical
-- serialisation of this row (audit.c). subject is a pseudonym, never an
-- identity code.
CREATE TABLE audit (
  seq        INTEGER NOT NULL PRIMARY KEY CHECK (seq >= 1),
  at         INTEGER NOT NULL,
  user       TEXT NOT NULL,
  role       TEXT NOT NULL,
  action     TEXT NOT NULL,
  subject    TEXT NOT NULL,
  unit       TEXT NOT NULL,
  reason     TEXT NOT NULL,
  address    TEXT NOT NULL,
  request_id TEXT NOT NULL,
  hash       BLOB NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_subject ON audit (subject) WHERE subject <> '';
CREATE INDEX audit_user ON audit (user);

-- Append-only by default. Someone with write access to the file can drop
-- these triggers; the hash chain and the signed checkpoints are what detect
-- that (docs/SECURITY.md).
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
  SELECT RAISE (ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
  SELECT RAISE (ABORT, 'the audit log is append-only');
END;

-- Signed checkpoints: "the log had 'count' records and its head hash was
-- 'head' at 'at'", signed with the key file's Ed25519 key.
CREATE TABLE audit_checkpoints (
  id         INTEGER PRIMARY KEY,
  at         INTEGER NOT NULL,
  count      INTEGER NOT NULL CHECK (count >= 0),
  head       BLOB NOT NULL CHECK (length(head) = 32),
  kind       TEXT NOT NULL,
  public_key BLOB NOT NULL CHECK (length(public_key) = 32),
  signature  BLOB NOT NULL CHECK (length(signature) = 64)
);
CREATE INDEX audit_checkpoints_count ON audit_checkpoints (count);
