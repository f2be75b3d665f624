/* config.h -- server configuration: one table drives parsing, bounds,
 * defaults, environment names, help and the dump (Redis config.c style).
 *
 * Every option has a dotted name "section.key" (e.g. "mllp.max_frame"),
 * written in the INI file as key = value under [section], in the
 * environment as TK_SECTION_KEY (upper case, '.' -> '_': TK_MLLP_MAX_FRAME)
 * and on the command line as --section.key=value.
 *
 * Precedence: default < INI file < environment < command line. Each value
 * remembers its source, and a source never overrides a value set by a
 * stronger one, so the load calls may come in any order. A bad value is an
 * error whatever its source.
 *
 * Types and accepted text:
 *   string    anything up to CONFIG_VALUE_MAX bytes
 *   int       decimal, within the option's [min, max]
 *   bool      true/false, yes/no, on/off, 1/0 (any case)
 *   size      bytes: 1048576, 64k, 1M, 2G (binary: k = 1024), optional B
 *             or iB after the unit; within [min, max]
 *   duration  250ms, 300s, 5m, 2h, 1d (or 0), stored in milliseconds
 *   hostport  "127.0.0.1:2575", "[::1]:2575", "localhost:8080"; port 0..65535
 *   enum      one of the option's choices (server.log_level: debug, info,
 *             warn, error)
 *   clock     a time of day "HH:MM", stored as minutes after midnight
 *
 * Ownership: a struct config owns copies of every string; the pointers the
 * accessors return stay valid until the option is set again or the config
 * is freed. Thread safety: a config is not synchronised; load it in one
 * thread, then any number of threads may read it concurrently. */
#ifndef TK_CONFIG_H
#define TK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "compat.h"
#include "err.h"

/* The longest value accepted from any source. */
#define CONFIG_VALUE_MAX 4096
/* The longest host part of a hostport value. */
#define CONFIG_HOST_MAX 256

struct config;

/* A config holding every default. Never NULL (aborts on OOM). */
struct config *config_new(void);

/* Frees the config; accepts NULL. */
void config_free(struct config *cfg);

/* Reads the INI file at 'path' (libinih). Unknown sections or keys, a key
 * given twice, lines over 198 bytes (inih's limit), syntax errors
 * and bad values are errors naming "path:line" and the option. The file is
 * applied all or nothing: on failure 'cfg' is unchanged. Returns 0,
 * ERR_IO (cannot open) or ERR_CONFIG, with detail in 'err'. */
NODISCARD int config_load_file(struct config *cfg, const char *path,
                               struct error *err);

/* Reads TK_* environment variables for every option. All or nothing;
 * returns 0 or ERR_CONFIG naming the variable. Environment variables that
 * are not options are ignored. Not thread-safe against setenv. */
NODISCARD int config_load_env(struct config *cfg, struct error *err);

/* Sets option 'name' from the command line (the strongest source). Returns
 * 0, or ERR_CONFIG for an unknown option or a bad value ('cfg' unchanged). */
NODISCARD int config_set(struct config *cfg, const char *name,
                         const char *value, struct error *err);

/* config_set for one argument of the form "--section.key=value". Returns
 * ERR_CONFIG when 'arg' does not have that form. */
NODISCARD int config_set_arg(struct config *cfg, const char *arg,
                             struct error *err);

/* True when 'name' is an option. */
bool config_has(const char *name);

/* Cross-option checks, to run once every source is loaded:
 * bedboard.occupancy_high <= bedboard.occupancy_critical, and
 * http.tls_cert / http.tls_key both set or both empty. 0 or ERR_CONFIG. */
NODISCARD int config_validate(const struct config *cfg, struct error *err);

/* Accessors. 'name' must be an option of a fitting type; asking for an
 * unknown option or the wrong type is a programmer error (assert; in
 * release builds "" / 0 / false).
 *   config_str:  the value text of any option (as given, e.g. "1M").
 *   config_int:  int, size (bytes), duration (ms), clock (minutes).
 *   config_bool: bool. */
const char *config_str(const struct config *cfg, const char *name);
long long config_int(const struct config *cfg, const char *name);
bool config_bool(const struct config *cfg, const char *name);

/* The typed parsers behind the table, for other modules' options too.
 * Each returns 0 and sets its out-params, or ERR_PARSE with the reason in
 * 'err' (outputs untouched). config_split_hostport writes the host without
 * brackets; 'hostcap' must be at least CONFIG_HOST_MAX to hold any valid
 * host. */
NODISCARD int config_parse_bool(const char *s, bool *out, struct error *err);
NODISCARD int config_parse_size(const char *s, long long *bytes,
                                struct error *err);
NODISCARD int config_parse_duration(const char *s, long long *ms,
                                    struct error *err);
NODISCARD int config_split_hostport(const char *s, char *host, size_t hostcap,
                                    int *port, struct error *err);

/* Appends the help for every option (name, type, bounds, default,
 * environment name, description) to 'out'. 0 or ERR_TOOBIG. */
NODISCARD int config_help(struct buf *out);

/* Appends "name = value (source)" for every option, one per line, where
 * source is "default", "file PATH:LINE", "env TK_..." or "command line".
 * 0 or ERR_TOOBIG. */
NODISCARD int config_dump(const struct config *cfg, struct buf *out);

#endif
