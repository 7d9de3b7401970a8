// Attention core: one head's products are cblas_sgemm calls on strided views (leading dimension D) of the
// [B*T, D] operands, so q, k, v and the gradients are read and written in place. At T = 32, dh = 8..32
// OpenBLAS (as fast with 1 thread as with 2: these sizes are below its threading threshold) measured
// ~1.5x faster than a register-tiled C loop and 3-4x faster than plain loops; see the commit message.
#include "attention.h"
#include "kernels.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>

// c [m, n] (row stride ldc) = alpha op(a) op(b) with op(a) [m, kk]: row-major views of strided blocks.
static void mm(int ta, int tb, int64_t m, int64_t n, int64_t kk, float alpha, const float *a, int64_t lda,
               const float *b, int64_t ldb, float *c, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n,
              (int)kk, alpha, a, (int)lda, b, (int)ldb, 0.f, c, (int)ldc);
}

// Row softmax of a [T, T] block in place, after adding kbias[j] (the padding mask: 0 at real keys, -1e9 at
// padding, whose probabilities then underflow to exactly 0) to column j of every row when kbias is not NULL. One k_unary exp over the whole block runs at the speed of a long
// loop: ~2x faster than k_softmax on rows as short as T = 32, whose four passes per row are mostly loop
// overhead. A NaN or +inf in a row makes the whole row NaN, as in k_softmax and tfjs.
static void softmax_block(float *s, const float *kbias, int64_t T) {
  for (int64_t i = 0; i < T; i++) {
    float *si = s + i * T;
    if (kbias)
      for (int64_t j = 0; j < T; j++) si[j] += kbias[j];
    float m = si[0];
#pragma omp simd reduction(max : m)
    for (int64_t j = 0; j < T; j++) m = si[j] > m ? si[j] : m;
    for (int64_t j = 0; j < T; j++) si[j] -= m;
  }
  k_unary(OP_EXP, s, s, T * T, 0.f);
  for (int64_t i = 0; i < T; i++) {
    float *si = s + i * T, sum = 0.f;
#pragma omp simd reduction(+ : sum)
    for (int64_t j = 0; j < T; j++) sum += si[j];
    const float inv = 1.f / sum; // a multiply per element, not a division
    for (int64_t j = 0; j < T; j++) si[j] *= inv;
  }
}

void k_attention_forward(const float *q, const float *k, const float *v, const float *kbias, float *ctx, float *p,
                         int64_t batch, int64_t seq, int64_t heads, int64_t dim) {
  const int64_t T = seq, D = dim, dh = dim / heads;
  const float scale = (float)(1.0 / sqrt((double)dh));
  for (int64_t b = 0; b < batch; b++)
    for (int64_t h = 0; h < heads; h++) {
      const int64_t off = b * T * D + h * dh; // the head's [T, dh] block in every [B*T, D] operand
      float *pbh = p + (b * heads + h) * T * T;
      mm(0, 1, T, T, dh, scale, q + off, D, k + off, D, pbh, T); // S = scale q k^T
      softmax_block(pbh, kbias ? kbias + b * T : NULL, T);
      mm(0, 0, T, dh, T, 1.f, pbh, T, v + off, D, ctx + off, D); // ctx = P v
    }
}

int k_attention_backward(const float *q, const float *k, const float *v, const float *p, const float *dctx,
                         float *dq, float *dk, float *dv, int64_t batch, int64_t seq, int64_t heads, int64_t dim) {
  const int64_t T = seq, D = dim, dh = dim / heads;
  const float scale = (float)(1.0 / sqrt((double)dh));
  float *ds = malloc(sizeof(float) * T * T); // dP, then dS in place
  if (!ds) return -1;
  for (int64_t b = 0; b < batch; b++)
    for (int64_t h = 0; h < heads; h++) {
      const int64_t off = b * T * D + h * dh;
      const float *pbh = p + (b * heads + h) * T * T;
      mm(0, 1, T, T, dh, 1.f, dctx + off, D, v + off, D, ds, T); // dP = dctx v^T
      // Softmax backward: dS = P * (dP - rowsum(dP * P)).
      for (int64_t i = 0; i < T; i++) {
        const float *pi = pbh + i * T;
        float *di = ds + i * T;
        float r = 0.f;
#pragma omp simd reduction(+ : r)
        for (int64_t j = 0; j < T; j++) r += di[j] * pi[j];
        for (int64_t j = 0; j < T; j++) di[j] = pi[j] * (di[j] - r);
      }
      mm(1, 0, T, dh, T, 1.f, pbh, T, dctx + off, D, dv + off, D); // dv = P^T dctx
      mm(0, 0, T, dh, T, scale, ds, T, k + off, D, dq + off, D);   // dq = scale dS k
      mm(1, 0, T, dh, T, scale, ds, T, q + off, D, dk + off, D);   // dk = scale dS^T q
    }
  free(ds);
  return 0;
}
