/* rng.c -- xoshiro256** seeded through splitmix64 (see rng.h).
 *
 * The outputs are part of the generators' contract (the same seed writes
 * the same files), so nothing here may change what a stream yields. */
#include "rng.h"

#include <math.h>

uint64_t rng_splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void rng_seed(struct rng *r, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++)
    r->s[i] = rng_splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(struct rng *r) {
  uint64_t *s = r->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double rng_unit(struct rng *r) {
  return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

uint32_t rng_below(struct rng *r, uint32_t n) {
  return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

bool rng_chance(struct rng *r, double p) { return rng_unit(r) < p; }

int64_t rng_ms(struct rng *r, int64_t lo, int64_t hi) {
  int64_t span = (hi - lo) / 1000;
  if (span <= 0)
    return lo;
  if (span > (int64_t)UINT32_MAX - 1)
    span = (int64_t)UINT32_MAX - 1;
  return lo + (int64_t)rng_below(r, (uint32_t)(span + 1)) * 1000;
}

double rng_normal(struct rng *r) {
  double u1 = 1.0 - rng_unit(r); /* (0, 1] */
  double u2 = rng_unit(r);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

double rng_lognormal(struct rng *r, double median, double sigma) {
  return median * exp(sigma * rng_normal(r));
}

int rng_poisson(struct rng *r, double lambda) {
  double limit, p = 1.0;
  int k = 0;
  if (lambda <= 0)
    return 0;
  if (lambda > 60) {
    double v = lambda + sqrt(lambda) * rng_normal(r) + 0.5;
    return v < 0 ? 0 : (int)v;
  }
  limit = exp(-lambda);
  for (;;) {
    p *= rng_unit(r);
    if (p <= limit)
      return k;
    k++;
  }
}

size_t rng_weighted(struct rng *r, const double *w, size_t n) {
  double total = 0, x;
  for (size_t i = 0; i < n; i++)
    total += w[i];
  x = rng_unit(r) * total;
  for (size_t i = 0; i < n; i++) {
    if (x < w[i])
      return i;
    x -= w[i];
  }
  for (size_t i = n; i-- > 0;)
    if (w[i] > 0)
      return i;
  return 0;
}
