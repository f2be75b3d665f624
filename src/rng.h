/* rng.h -- the deterministic pseudo-random stream of the synthetic data
 * generators (gen.c, gensched.c) and of tests that want reproducible
 * randomness: xoshiro256** (Blackman and Vigna) seeded through splitmix64.
 *
 * Not for secrets (libsodium is). Nothing reads the clock: the same seed
 * gives the same stream on every machine. A struct rng is a value the
 * caller owns; functions on different streams may run concurrently, one
 * stream is not thread-safe. */
#ifndef TK_RNG_H
#define TK_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rng {
  uint64_t s[4];
};

/* Advances *x and returns the next splitmix64 output (also a good 64-bit
 * mixer for deriving independent seeds). */
uint64_t rng_splitmix64(uint64_t *x);

/* Seeds 'r' from 'seed' (four splitmix64 outputs). */
void rng_seed(struct rng *r, uint64_t seed);

/* The next 64 random bits. */
uint64_t rng_next(struct rng *r);

/* Uniform in [0, 1). */
double rng_unit(struct rng *r);

/* Uniform in [0, n), n >= 1 (Lemire's multiply-shift; bias < 2^-32). */
uint32_t rng_below(struct rng *r, uint32_t n);

/* True with probability p. */
bool rng_chance(struct rng *r, double p);

/* Whole seconds uniform in [lo, hi] milliseconds (lo a whole second), as
 * milliseconds; lo when hi - lo is under a second. Spans above 2^32 - 2
 * seconds are cut to that. */
int64_t rng_ms(struct rng *r, int64_t lo, int64_t hi);

/* Standard normal (Box-Muller). */
double rng_normal(struct rng *r);

/* Log-normal with the given median and sigma of the underlying normal. */
double rng_lognormal(struct rng *r, double median, double sigma);

/* Poisson with mean lambda (0 for lambda <= 0; normal approximation above
 * 60). */
int rng_poisson(struct rng *r, double lambda);

/* An index drawn by the relative weights w[0..n) (n > 0, some weight > 0). */
size_t rng_weighted(struct rng *r, const double *w, size_t n);

#endif
