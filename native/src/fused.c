// Fused LayerNorm, GELU and depthwise conv. Row statistics accumulate in double like the tfjs cpu kernels
// (JS numbers); parameter gradients accumulate in float across rows (their outputs are the accumulators).
// `restrict` lets gcc vectorise without runtime overlap checks: outputs never alias inputs (lib/native/fused.ts).
#include "fused.h"
#include "vexp.h"
#include <math.h>
#include <string.h>

void k_layernorm_forward(const float *restrict x, const float *restrict gamma, const float *restrict beta, float eps,
                         float *restrict y, float *restrict stats, int64_t rows, int64_t d) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * d;
    float *q = y + r * d;
    double s = 0, v = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < d; j++) s += p[j];
    const float m = (float)(s / d);
    // Two passes over the row (in L1) rather than sum of squares: no cancellation when |mean| >> std.
#pragma omp simd reduction(+ : v)
    for (int64_t j = 0; j < d; j++) { const float c = p[j] - m; v += c * c; }
    const float var = (float)(v / d) + eps; // rounded as the tfjs ops round it: Mean, then Add in float32
    const float rs = (float)(1.0 / sqrt((double)var));
    for (int64_t j = 0; j < d; j++) q[j] = (p[j] - m) * rs * gamma[j] + beta[j];
    stats[2 * r] = m;
    stats[2 * r + 1] = rs;
  }
}

void k_layernorm_backward(const float *restrict x, const float *restrict gamma, const float *restrict stats,
                          const float *restrict dy, float *restrict dx, float *restrict dgamma,
                          float *restrict dbeta, int64_t rows, int64_t d) {
  memset(dgamma, 0, sizeof(float) * d);
  memset(dbeta, 0, sizeof(float) * d);
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * d, *g = dy + r * d;
    float *q = dx + r * d;
    const float m = stats[2 * r], rs = stats[2 * r + 1];
    double sg = 0, sgx = 0; // sums of dxhat = dy * gamma and of dxhat * xhat
#pragma omp simd reduction(+ : sg, sgx)
    for (int64_t j = 0; j < d; j++) {
      const float xh = (p[j] - m) * rs, dxh = g[j] * gamma[j];
      sg += dxh;
      sgx += dxh * xh;
    }
    const float a = (float)(sg / d), b = (float)(sgx / d);
    for (int64_t j = 0; j < d; j++) {
      const float xh = (p[j] - m) * rs;
      q[j] = rs * (g[j] * gamma[j] - a - xh * b);
      dgamma[j] += g[j] * xh;
      dbeta[j] += g[j];
    }
  }
}

// sigmoid(z) = s1 for z >= 0 and e * s1 below, with e = exp(-|z|) (never overflows) and s1 = 1 / (1 + e);
// s (1 - s) = e * s1^2 on both sides, without the cancellation of 1 - s near s = 1.
#define GELU_K 1.702f

void k_gelu_forward(const float *restrict x, float *restrict y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float z = GELU_K * x[i], e = vexp(-fabsf(z)), s1 = 1.f / (1.f + e);
    y[i] = x[i] * (z >= 0.f ? s1 : e * s1);
  }
}

void k_gelu_backward(const float *restrict x, const float *restrict dy, float *restrict dx, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float z = GELU_K * x[i], e = vexp(-fabsf(z)), s1 = 1.f / (1.f + e);
    const float s = z >= 0.f ? s1 : e * s1;
    dx[i] = dy[i] * (s + z * e * s1 * s1);
  }
}

// Taps j of output step i read input step i + j - pad; only j in [lo, hi) land inside [0, t).
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void k_dwconv1d_forward(const float *restrict x, const float *restrict w, const float *restrict bias,
                        float *restrict out, int64_t b, int64_t t, int64_t d, int64_t k) {
  const int64_t pad = (k - 1) / 2;
  for (int64_t s = 0; s < b; s++)
    for (int64_t i = 0; i < t; i++) {
      float *o = out + (s * t + i) * d;
      memcpy(o, bias, sizeof(float) * d);
      for (int64_t j = max64(0, pad - i); j < min64(k, t + pad - i); j++) {
        const float *xi = x + (s * t + i + j - pad) * d, *wj = w + j * d;
        for (int64_t c = 0; c < d; c++) o[c] += xi[c] * wj[c];
      }
    }
}

// Per step i: dx[i] gathers dy[i - j + pad] * w[j] (zeroed in the same pass, not a separate one), and the same
// dy rows meet x[i] for dw[j], so one pass over the positions gives all three gradients.
void k_dwconv1d_backward(const float *restrict x, const float *restrict w, const float *restrict dy,
                         float *restrict dx, float *restrict dw, float *restrict dbias, int64_t b, int64_t t,
                         int64_t d, int64_t k) {
  const int64_t pad = (k - 1) / 2;
  memset(dw, 0, sizeof(float) * k * d);
  memset(dbias, 0, sizeof(float) * d);
  for (int64_t s = 0; s < b; s++)
    for (int64_t i = 0; i < t; i++) {
      const float *xi = x + (s * t + i) * d, *gi = dy + (s * t + i) * d;
      float *q = dx + (s * t + i) * d;
      for (int64_t c = 0; c < d; c++) { dbias[c] += gi[c]; q[c] = 0.f; }
      for (int64_t j = max64(0, i + pad - t + 1); j < min64(k, i + pad + 1); j++) {
        const float *g = dy + (s * t + i - j + pad) * d, *wj = w + j * d;
        float *dwj = dw + j * d;
        for (int64_t c = 0; c < d; c++) {
          q[c] += g[c] * wj[c];
          dwj[c] += g[c] * xi[c];
        }
      }
    }
}
