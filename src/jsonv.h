/* jsonv.h -- reading validated JSON configuration (catalogues, timelines)
 * with errors that name the JSON path.
 *
 * Small helpers over jansson shared by the modules that load declarative
 * JSON (access, indicator): every failure is ERR_CONFIG with a message that
 * starts with the path, e.g. "rules[3].limit: expected an integer 1..365".
 * Keys starting with "x-" are always allowed (comments, extensions); a JSON
 * null counts as absent. Pure; thread-safe. */
#ifndef TK_JSONV_H
#define TK_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "compat.h"
#include "err.h"

/* Writes "path.key" into 'out' ('cap' bytes); a path too long for the
 * buffer ends in "...". Returns 'out'. */
const char *jsonv_path(char *out, size_t cap, const char *path,
                       const char *key);

/* ERR_CONFIG when 'obj' has a key that is neither in the NULL-terminated
 * 'allowed' list nor starts with "x-". */
NODISCARD int jsonv_check_keys(json_t *obj, const char *path,
                               const char *const *allowed, struct error *err);

/* obj[key] into *out (NULL when absent or null); ERR_CONFIG when absent and
 * 'required'. */
NODISCARD int jsonv_get(json_t *obj, const char *key, const char *path,
                        bool required, json_t **out, struct error *err);

/* A string of 1..max bytes without NUL into *out (NULL when absent and not
 * required); the string lives as long as 'obj'. */
NODISCARD int jsonv_get_str(json_t *obj, const char *key, const char *path,
                            bool required, size_t max, const char **out,
                            struct error *err);

#endif
