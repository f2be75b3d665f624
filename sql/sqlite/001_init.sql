-- 001_init.sql -- the first schema: raw messages, canonical events, dead
-- letters, counters and metadata.
--
-- Applied by store_sqlite.c, which embeds a byte-identical copy of this file
-- (test_store checks they match). Migrations run in one transaction; the
-- schema version is meta.schema_version. Never edit a released migration:
-- add the next number.

-- Key/value metadata: schema_version and settings.
CREATE TABLE meta (
  key   TEXT NOT NULL PRIMARY KEY,
  value TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- Raw messages as received: the payload sealed (privacy_seal), never plain.
-- (channel, source_key) is the idempotency key: a resend is found here.
CREATE TABLE messages (
  id          INTEGER PRIMARY KEY,
  channel     TEXT    NOT NULL,
  source_key  TEXT    NOT NULL,
  msg_type    TEXT    NOT NULL,
  received_at INTEGER NOT NULL,           -- UTC ms
  digest      BLOB    NOT NULL,           -- BLAKE2b-128 of the raw bytes
  flags       INTEGER NOT NULL DEFAULT 0, -- EVENT_F_* over its events
  payload     BLOB,                       -- sealed; NULL when empty
  UNIQUE (channel, source_key)
) STRICT;

-- Canonical events, the log every projection is rebuilt from. seq is the
-- rowid: SQLite gives a new row the largest seq + 1, and events are never
-- deleted nor changed (the triggers below refuse it), so a committed seq is never
-- handed out again. This costs nothing per insert, unlike AUTOINCREMENT
-- (about 10% of the writer's CPU); a future retention migration that
-- deletes old events must keep the newest row or switch to AUTOINCREMENT.
CREATE TABLE events (
  seq         INTEGER PRIMARY KEY,
  message_id  INTEGER NOT NULL REFERENCES messages (id),
  channel     TEXT    NOT NULL,
  source_key  TEXT    NOT NULL,
  kind        TEXT    NOT NULL,           -- event_kind_name()
  occurred_at INTEGER NOT NULL,           -- UTC ms
  local_date  INTEGER NOT NULL,           -- Europe/Helsinki day number
  unit        TEXT    NOT NULL,           -- canonical org unit id
  subject     TEXT    NOT NULL,           -- person pseudonym
  episode     TEXT    NOT NULL,           -- episode pseudonym
  attrs       TEXT    NOT NULL            -- event_attrs_to_json()
) STRICT;
-- No secondary indexes on events: every projection is built by scanning
-- in seq order (the primary key), and each index costs the writer a page
-- write per commit (docs/PERFORMANCE.md). Add them with the queries that
-- need them.
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
  SELECT RAISE (ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
  SELECT RAISE (ABORT, 'events are append-only');
END;

-- Input that could not be used, with the reason, for repair and replay.
-- status: 0 open, 1 replayed, 2 discarded.
CREATE TABLE dead_letters (
  id          INTEGER PRIMARY KEY,
  channel     TEXT    NOT NULL,
  source_key  TEXT    NOT NULL,
  msg_type    TEXT    NOT NULL,
  received_at INTEGER NOT NULL,
  ack_code    TEXT    NOT NULL,
  reason      TEXT    NOT NULL,
  location    TEXT    NOT NULL,
  status      INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2)),
  payload     BLOB                        -- sealed; NULL when empty
) STRICT;
CREATE INDEX dead_letters_status ON dead_letters (status, id);

-- Counters per channel: the callers' (accepted, duplicates, rejected,
-- errors, unverified_id) and the store's exact row tallies (messages,
-- dead_letters, events.<kind>), all updated inside write transactions.
CREATE TABLE counters (
  channel TEXT    NOT NULL,
  name    TEXT    NOT NULL,
  value   INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (channel, name)
) STRICT, WITHOUT ROWID;
