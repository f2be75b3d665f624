/* fuzz_json_body.c -- the sign-in body parser (api_auth_parse_signin), the
 * JSON body that reaches the server from outside before anyone is signed
 * in. Checks: success gives a non-empty user name that fits its buffer and a
 * password of the reported length; failure names a 400 error code. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "api_auth.h"
#include "auth.h"
#include "mem.h"

const char *fuzz_shared_seed_dir(void);
const char *fuzz_shared_seed_dir(void) { return NULL; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char user[AUTH_USER_MAX + 1];
  char *pw = NULL;
  size_t pwlen = 0;
  struct api_auth_body_fault f;
  memset(&f, 0, sizeof f);
  if (api_auth_parse_signin((const char *)data, size, user, sizeof user, &pw,
                            &pwlen, &f) == 0) {
    assert(user[0] != '\0' && strlen(user) <= AUTH_USER_MAX);
    assert(pw != NULL && pwlen > 0 && pw[pwlen] == '\0');
    mem_free(pw);
  } else {
    assert(pw == NULL && f.code != NULL && f.code[0] != '\0');
  }
  return 0;
}
