/* jsonv.c -- validated JSON configuration reading with path errors. */
#include "jsonv.h"

#include <stdio.h>
#include <string.h>

const char *jsonv_path(char *out, size_t cap, const char *path,
                       const char *key) {
  int n = snprintf(out, cap, "%s.%s", path, key);
  if ((n < 0 || (size_t)n >= cap) && cap >= 4)
    memcpy(out + cap - 4, "...", 4);
  return out;
}

int jsonv_check_keys(json_t *obj, const char *path, const char *const *allowed,
                     struct error *err) {
  const char *key;
  json_t *v;
  json_object_foreach(obj, key, v) {
    bool ok = strncmp(key, "x-", 2) == 0;
    (void)v;
    for (size_t i = 0; !ok && allowed[i] != NULL; i++)
      ok = strcmp(key, allowed[i]) == 0;
    if (!ok)
      return error_set(err, ERR_CONFIG, "%s: unknown key '%.40s'", path, key);
  }
  return 0;
}

int jsonv_get(json_t *obj, const char *key, const char *path, bool required,
              json_t **out, struct error *err) {
  json_t *v = json_object_get(obj, key);
  *out = NULL;
  if (v == NULL || json_is_null(v)) {
    if (required)
      return error_set(err, ERR_CONFIG, "%s.%s: required", path, key);
    return 0;
  }
  *out = v;
  return 0;
}

int jsonv_get_str(json_t *obj, const char *key, const char *path, bool required,
                  size_t max, const char **out, struct error *err) {
  json_t *v;
  int rc = jsonv_get(obj, key, path, required, &v, err);
  if (rc < 0)
    return rc;
  if (v == NULL) {
    *out = NULL;
    return 0;
  }
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      json_string_length(v) > max ||
      strlen(json_string_value(v)) != json_string_length(v))
    return error_set(err, ERR_CONFIG,
                     "%s.%s: expected a string of 1 to %zu bytes", path, key,
                     max);
  *out = json_string_value(v);
  return 0;
}
