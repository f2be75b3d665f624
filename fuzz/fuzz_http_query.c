/* fuzz_http_query.c -- libFuzzer target for the strict query-string parser
 * (http_query_parse_detail) and the error messages it leads to.
 *
 * For every input: the parser either fails with ERR_PARSE or ERR_TOOBIG, a
 * fault code of the message table, a field that is empty or a valid
 * parameter name, and the output untouched; or it succeeds and every
 * parameter obeys the documented rules: at most HTTP_QUERY_MAX_PARAMS,
 * names [A-Za-z0-9_.-]{1,32} and unique, values at most
 * HTTP_QUERY_MAX_VALUE bytes of UTF-8 text without control characters,
 * value_len equal to strlen, and http_query_get finds each value. The JSON
 * error body for the fault is built and must be balanced. Seeds:
 * fuzz/corpus/http_query. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *fuzz_shared_seed_dir(void);

const char *fuzz_shared_seed_dir(void) { return NULL; }

static void check(int cond) {
  if (!cond)
    abort();
}

static int name_ok(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > HTTP_QUERY_MAX_KEY)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return 0;
  }
  return 1;
}

/* Valid UTF-8 without C0 controls or DEL (an independent check). */
static int text_ok(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t k;
    unsigned cp;
    if (c < 0x20 || c == 0x7f)
      return 0;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (c >= 0xc2 && c <= 0xdf) {
      k = 2;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      k = 3;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 4;
      cp = c & 0x07;
    } else {
      return 0;
    }
    if (i + k > n)
      return 0;
    for (size_t j = 1; j < k; j++) {
      if ((s[i + j] & 0xc0) != 0x80)
        return 0;
      cp = (cp << 6) | (s[i + j] & 0x3f);
    }
    if ((k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return 0;
    i += k;
  }
  return 1;
}

static void check_error_json(const char *code, const char *field) {
  struct buf b;
  int depth = 0;
  int in_str = 0;
  buf_init(&b, 1 << 16);
  check(http_error_json(400, code, field[0] != '\0' ? field : NULL, field,
                        &b) == 0);
  /* Balanced braces outside strings, strings closed. */
  for (const char *p = buf_str(&b); *p != '\0'; p++) {
    if (in_str) {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        in_str = 0;
      else
        check((unsigned char)*p >= 0x20);
    } else if (*p == '"') {
      in_str = 1;
    } else if (*p == '{') {
      depth++;
    } else if (*p == '}') {
      depth--;
      check(depth >= 0);
    }
  }
  check(depth == 0 && !in_str);
  check(strstr(buf_str(&b), "\"code\":\"internal\"") == NULL);
  buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static struct http_query q;
  struct http_query_fault fault;
  struct error err;
  int rc;
  memset(&q, 0x33, sizeof q);
  error_clear(&err);
  rc = http_query_parse_detail((const char *)data, size, &q, &fault, &err);
  if (rc != 0) {
    check(rc == ERR_PARSE || rc == ERR_TOOBIG);
    check(err.code == rc && err.msg[0] != '\0');
    check(fault.code != NULL);
    check(fault.field[0] == '\0' || name_ok(fault.field));
    for (size_t i = 0; i < sizeof q; i++)
      check(((unsigned char *)&q)[i] == 0x33);
    check_error_json(fault.code, fault.field);
    if (size > HTTP_QUERY_MAX_RAW)
      check(strcmp(fault.code, "query_too_long") == 0);
    return 0;
  }
  check(size <= HTTP_QUERY_MAX_RAW);
  check(q.count <= HTTP_QUERY_MAX_PARAMS);
  for (size_t i = 0; i < q.count; i++) {
    const char *k = http_query_key_at(&q, i);
    const char *v = http_query_value_at(&q, i);
    check(name_ok(k));
    check(strlen(v) == q.params[i].value_len);
    check(q.params[i].value_len <= HTTP_QUERY_MAX_VALUE);
    check(text_ok((const unsigned char *)v, q.params[i].value_len));
    check(http_query_get(&q, k) == v);
    for (size_t j = 0; j < i; j++)
      check(strcmp(http_query_key_at(&q, j), k) != 0);
  }
  /* Parsing is deterministic, and the plain entry point agrees. */
  {
    static struct http_query q2;
    check(http_query_parse((const char *)data, size, &q2, NULL) == 0);
    check(q2.count == q.count);
    for (size_t i = 0; i < q.count; i++)
      check(strcmp(http_query_value_at(&q2, i), http_query_value_at(&q, i)) ==
            0);
  }
  return 0;
}
