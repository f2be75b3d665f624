-- 002_message_keys.sql -- the resend index moves out of the messages table.
--
-- UNIQUE (channel, source_key) on messages cost the writer a random index
-- page per message (one hot spot per sender), about half of its time at
-- 30,000 messages/s (docs/PERFORMANCE.md). The same keys now live in
-- message_keys, which the store fills in sorted batches (every
-- store_sqlite.c KEYS_BATCH messages, in the committing transaction) from
-- the messages above meta.message_keys_upto; a writer keeps the keys of
-- those in memory, rebuilt at open. A key is therefore unique in
-- message_keys plus the messages above the mark, which store_message_put
-- checks. The table is rebuilt (SQLite cannot drop a constraint); the
-- events' references are checked at COMMIT (defer_foreign_keys).
PRAGMA defer_foreign_keys = ON;
CREATE TABLE messages_copy AS SELECT * FROM messages;
DROP TABLE messages;
CREATE TABLE messages (
  id          INTEGER PRIMARY KEY,
  channel     TEXT    NOT NULL,
  source_key  TEXT    NOT NULL,
  msg_type    TEXT    NOT NULL,
  received_at INTEGER NOT NULL,           -- UTC ms
  digest      BLOB    NOT NULL,           -- BLAKE2b-128 of the raw bytes
  flags       INTEGER NOT NULL DEFAULT 0, -- EVENT_F_* over its events
  payload     BLOB                        -- sealed; NULL when empty
) STRICT;
INSERT INTO messages SELECT * FROM messages_copy ORDER BY id;
DROP TABLE messages_copy;
CREATE TABLE message_keys (
  channel    TEXT    NOT NULL,
  source_key TEXT    NOT NULL,
  message_id INTEGER NOT NULL,
  PRIMARY KEY (channel, source_key)
) STRICT, WITHOUT ROWID;
INSERT INTO message_keys SELECT channel, source_key, id FROM messages
  ORDER BY channel, source_key;
INSERT INTO meta (key, value)
  SELECT 'message_keys_upto', CAST(coalesce(max(id), 0) AS TEXT) FROM messages;
