/* replay_main.c -- runs a libFuzzer target over a seed corpus without
 * libFuzzer, so every seed replays in `make check` under the normal build and
 * the sanitizer build.
 *
 * Usage: fuzz_X DIR_OR_FILE...  Every regular file is fed once to
 * LLVMFuzzerTestOneInput; directories are read one level deep. The
 * environment variable TK_SHARED adds ../shared/testdata seeds named by the
 * target (see seed_dirs below): the shared test data is read where it is,
 * never copied into the project. Exits 0 when every input ran, 1 when a
 * file could not be read, and crashes (as libFuzzer would) when the target
 * does. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *fuzz_shared_seed_dir(void);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  long n;
  uint8_t *data;
  if (f == NULL)
    return -1;
  if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
      fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return -1;
  }
  data = malloc((size_t)n + 1);
  if (data == NULL || fread(data, 1, (size_t)n, f) != (size_t)n) {
    free(data);
    fclose(f);
    return -1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(data, (size_t)n);
  free(data);
  return 0;
}

static int run_path(const char *path, int *count) {
  struct stat st;
  if (stat(path, &st) != 0)
    return -1;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    struct dirent *e;
    int rc = 0;
    if (d == NULL)
      return -1;
    while ((e = readdir(d)) != NULL) {
      char p[4096];
      struct stat fst;
      if (e->d_name[0] == '.')
        continue;
      snprintf(p, sizeof p, "%s/%s", path, e->d_name);
      if (stat(p, &fst) == 0 && S_ISREG(fst.st_mode)) {
        if (run_file(p) != 0)
          rc = -1;
        else
          (*count)++;
      }
    }
    closedir(d);
    return rc;
  }
  if (run_file(path) != 0)
    return -1;
  (*count)++;
  return 0;
}

int main(int argc, char **argv) {
  int count = 0;
  int rc = 0;
  const char *shared = getenv("TK_SHARED");
  const char *sub = fuzz_shared_seed_dir();
  for (int i = 1; i < argc; i++) {
    if (run_path(argv[i], &count) != 0) {
      fprintf(stderr, "cannot read '%s'\n", argv[i]);
      rc = 1;
    }
  }
  if (shared != NULL && sub != NULL) {
    char p[4096];
    snprintf(p, sizeof p, "%s/testdata/%s", shared, sub);
    if (run_path(p, &count) != 0) {
      fprintf(stderr, "cannot read '%s'\n", p);
      rc = 1;
    }
  }
  printf("replayed %d inputs\n", count);
  return rc;
}
