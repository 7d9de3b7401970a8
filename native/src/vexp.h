// Vectorisable float exp shared by kernels.c and fused.c (static inline: each loop inlines it).
#ifndef MAGIC_VEXP_H
#define MAGIC_VEXP_H
#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float pow2i(int32_t e) { // 2^e for -126 <= e <= 127
  const int32_t bits = (e + 127) << 23;
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

// exp(x) to ~1 ulp without a libm call, so the loop vectorises (glibc expf is scalar here: ~5 ns/element).
// Cephes expf: x = n ln2 + r with |r| <= ln2/2, a degree-6 polynomial for e^r, then scale by 2^n in two
// halves so that results near overflow (n = 128) and in the subnormal range (n < -126) stay exact.
static inline float vexp(float x) {
  const float hi = 88.72283905206835f, lo = -103.972084f; // beyond: inf and 0, as with expf
  const float c = x > hi ? hi : (x < lo ? lo : x);
  const float n = rintf(c * 1.44269504088896341f);
  const float r = c - n * 0.693359375f + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t k = (int32_t)n, half = k / 2;
  const float y = p * pow2i(half) * pow2i(k - half);
  return x != x ? x : (x > hi ? INFINITY : (x < lo ? 0.0f : y));
}

#endif
