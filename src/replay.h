/* replay.h -- reads a directory of HL7 v2 files message by message, and
 * shifts a message's timestamps (for `tilannekuva replay`).
 *
 * File format (what gen.c writes, and what most interface engines dump):
 * any number of messages per file; a message starts with "MSH|" at the
 * beginning of the file or right after a CR or LF, and runs up to the next
 * such start; newlines after its last segment are not part of it. Bytes
 * before the first "MSH|" of a file are ignored. The files of a directory
 * are the regular files whose names end in ".hl7", read in byte-wise name
 * order (so adt-2025-01-31.hl7 comes before adt-2025-02-01.hl7).
 *
 * The reader keeps one file in memory at a time. It does no network I/O and
 * no logging, and never looks inside a message beyond MSH-7.
 *
 * Thread safety: a struct replay belongs to one thread; replay_msg_time,
 * replay_field and replay_retime are pure and reentrant. */
#ifndef TK_REPLAY_H
#define TK_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "compat.h"
#include "err.h"

#define REPLAY_MAX_FILE (1024u * 1024u * 1024u) /* bytes of one file */
#define REPLAY_MAX_FILES 1000000u               /* .hl7 files in a dir */
#define REPLAY_MAX_MESSAGE (4u * 1024u * 1024u) /* bytes of one message */

struct replay;

/* Lists the ".hl7" files of directory 'dir' (or, when 'dir' names a
 * regular file, that one file, whatever its name). On success *out owns the
 * list (free with replay_close). ERR_IO when the directory cannot be read,
 * ERR_NOTFOUND when it holds no .hl7 file, ERR_TOOBIG above
 * REPLAY_MAX_FILES. *out is untouched on failure. */
NODISCARD int replay_open(const char *dir, struct replay **out,
                          struct error *err);

/* The next message: returns 1 and sets *msg / *len (valid until the next
 * call or replay_close) and *msg_time_ms (MSH-7 as UTC ms; Europe/Helsinki
 * local time when MSH-7 has no offset; the previous message's time, or 0,
 * when MSH-7 is missing or malformed); returns 0 at the end of the last
 * file; a negative code on failure (ERR_IO reading a file, ERR_TOOBIG for a
 * file above REPLAY_MAX_FILE or a message above REPLAY_MAX_MESSAGE), with
 * the file named in 'err'. Out-params are set only when 1 is returned. */
NODISCARD int replay_next(struct replay *r, const char **msg, size_t *len,
                          int64_t *msg_time_ms, struct error *err);

/* The number of files, and the 1-based position of the file the last
 * message came from (0 before the first). For progress displays. */
size_t replay_file_count(const struct replay *r);
size_t replay_file_index(const struct replay *r);

/* Frees the reader; accepts NULL. */
void replay_close(struct replay *r);

/* The value of field 'field' (HL7 numbering: MSH-3 is the sender) of the
 * first segment named 'seg' (three letters) of the message, with every
 * component and repetition: *val points into 'msg'. Segments end with CR or
 * LF; the field separator is the byte after "MSH". Returns true when the
 * field exists (it may be empty); false leaves the out-params untouched. */
bool replay_field(const char *msg, size_t len, const char *seg, unsigned field,
                  const char **val, size_t *vlen);

/* MSH-7 (component 1) of the message as UTC ms. 0, or ERR_PARSE when MSH-7
 * is missing or malformed (then *ms is untouched). */
NODISCARD int replay_msg_time(const char *msg, size_t len, int64_t *ms);

/* Appends to 'out' a copy of the message with 'shift_ms' added to every
 * timestamp a feed consumer reads as a time: MSH-7, EVN-2, EVN-6, PV1-44,
 * PV1-45, PV2-8, PV2-9 and ZTK-2. Each shifted value is written as
 * Europe/Helsinki local time with its offset, YYYYMMDDHHMMSS+ZZZZ (any
 * further components of the field are kept); empty and unparseable values
 * are copied unchanged. 0, or ERR_TOOBIG when 'out' reaches its cap ('out'
 * then holds a partial copy: reset it). Pure; thread-safe. */
NODISCARD int replay_retime(const char *msg, size_t len, int64_t shift_ms,
                            struct buf *out, struct error *err);

#endif
