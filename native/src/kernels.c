// Float32 elementwise, reduction and layout kernels. Sums accumulate in double, like the tfjs cpu kernels
// (which sum in JS numbers), so results agree with them to float32 rounding.
#include "kernels.h"
#include "vexp.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

// One contiguous output row; the inner strides are 0 (broadcast) or 1, specialised so loops vectorise.
#define BIN_ROW(EXPR)                                                           \
  if (sa && sb) { for (int64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; o[i] = (EXPR); } } \
  else if (sa) { float y = b[0]; for (int64_t i = 0; i < n; i++) { float x = a[i]; o[i] = (EXPR); } } \
  else if (sb) { float x = a[0]; for (int64_t i = 0; i < n; i++) { float y = b[i]; o[i] = (EXPR); } } \
  else { float x = a[0], y = b[0], v = (EXPR); for (int64_t i = 0; i < n; i++) o[i] = v; }

static void binary_row(int op, const float *a, int sa, const float *b, int sb, float *o, int64_t n) {
  switch (op) {
    case OP_ADD: BIN_ROW(x + y); break;
    case OP_SUB: BIN_ROW(x - y); break;
    case OP_MUL: BIN_ROW(x * y); break;
    case OP_DIV: BIN_ROW(x / y); break;
    // NaN propagates like Math.max / Math.min in the cpu kernels.
    case OP_MAX: BIN_ROW((x > y || x != x) ? x : y); break;
    case OP_MIN: BIN_ROW((x < y || x != x) ? x : y); break;
    case OP_SQDIFF: BIN_ROW((x - y) * (x - y)); break;
  }
}

void k_binary(int op, const float *a, const int32_t *aStrides, const float *b, const int32_t *bStrides,
              float *out, const int32_t *shape, int rank) {
  if (rank == 0) { binary_row(op, a, 0, b, 0, out, 1); return; }
  const int last = rank - 1;
  const int64_t n = shape[last];
  int64_t rows = 1;
  for (int d = 0; d < last; d++) rows *= shape[d];
  int64_t idx[MAX_RANK] = {0};
  int64_t ao = 0, bo = 0;
  for (int64_t r = 0; r < rows; r++) {
    binary_row(op, a + ao, aStrides[last], b + bo, bStrides[last], out + r * n, n);
    // Odometer increment over the outer dims, keeping the input offsets in step.
    for (int d = last - 1; d >= 0; d--) {
      ao += aStrides[d];
      bo += bStrides[d];
      if (++idx[d] < shape[d]) break;
      ao -= (int64_t)aStrides[d] * shape[d];
      bo -= (int64_t)bStrides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// The tfjs cpu kernel's erf (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7), in double like its JS, so the
// two backends agree to rounding.
static float erf_as(float xf) {
  const double x = xf, v = fabs(x), t = 1.0 / (1.0 + 0.3275911 * v);
  const double poly = ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592;
  const double y = 1.0 - poly * t * exp(-v * v);
  return x != x ? xf : (float)(x > 0 ? y : (x < 0 ? -y : 0.0));
}

void k_unary(int op, const float *x, float *o, int64_t n, float alpha) {
  int64_t i;
  switch (op) {
    case OP_EXP: for (i = 0; i < n; i++) o[i] = vexp(x[i]); break;
    case OP_LOG: for (i = 0; i < n; i++) o[i] = logf(x[i]); break;
    case OP_SQRT: for (i = 0; i < n; i++) o[i] = sqrtf(x[i]); break;
    case OP_RSQRT: for (i = 0; i < n; i++) o[i] = (float)(1.0 / sqrt((double)x[i])); break;
    case OP_RELU: for (i = 0; i < n; i++) o[i] = x[i] < 0.f ? 0.f : x[i]; break;
    case OP_STEP: for (i = 0; i < n; i++) o[i] = x[i] != x[i] ? x[i] : (x[i] > 0.f ? 1.f : alpha); break;
    case OP_NEG: for (i = 0; i < n; i++) o[i] = -x[i]; break;
    case OP_SQUARE: for (i = 0; i < n; i++) o[i] = x[i] * x[i]; break;
    case OP_TANH: for (i = 0; i < n; i++) o[i] = tanhf(x[i]); break;
    case OP_SIGMOID: // e = exp(-|x|) never overflows: 1 / (1 + e) for x >= 0, e / (1 + e) below
      for (i = 0; i < n; i++) {
        const float e = vexp(-fabsf(x[i])), s = 1.f / (1.f + e);
        o[i] = x[i] >= 0.f ? s : (x[i] != x[i] ? x[i] : e * s);
      }
      break;
    case OP_ABS: for (i = 0; i < n; i++) o[i] = fabsf(x[i]); break;
    case OP_RECIPROCAL: for (i = 0; i < n; i++) o[i] = 1.f / x[i]; break;
    case OP_ERF: for (i = 0; i < n; i++) o[i] = erf_as(x[i]); break;
  }
}

// Double accumulation like the cpu kernels; the simd pragma lets the compiler split it into vector lanes.
static double sum_row(const float *p, int64_t r) {
  double s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t j = 0; j < r; j++) s += p[j];
  return s;
}

// Branch-free so it vectorises; any NaN wins, as with Math.max / Math.min in the cpu kernels.
static float extreme_row(const float *p, int64_t r, int is_max) {
  float m = p[0];
  int nan = 0;
  if (is_max) {
#pragma omp simd reduction(max : m) reduction(| : nan)
    for (int64_t j = 0; j < r; j++) { m = p[j] > m ? p[j] : m; nan |= p[j] != p[j]; }
  } else {
#pragma omp simd reduction(min : m) reduction(| : nan)
    for (int64_t j = 0; j < r; j++) { m = p[j] < m ? p[j] : m; nan |= p[j] != p[j]; }
  }
  return nan ? NAN : m;
}

int k_reduce(int op, const float *x, float *out, int64_t outer, int64_t r, int64_t inner) {
  const int is_sum = op == RED_SUM || op == RED_MEAN;
  if (outer == 0 || inner == 0) return 0; // an empty output (and malloc(0) may return NULL)
  if (inner == 1) {
    for (int64_t o = 0; o < outer; o++) {
      const float *p = x + o * r;
      out[o] = is_sum ? (float)(op == RED_MEAN ? sum_row(p, r) / r : sum_row(p, r))
                      : extreme_row(p, r, op == RED_MAX);
    }
    return 0;
  }
  // Reduce over a middle axis: accumulate whole rows so the inner loop stays contiguous.
  double *acc = NULL;
  if (is_sum && !(acc = malloc(sizeof(double) * inner))) return -1;
  for (int64_t o = 0; o < outer; o++) {
    const float *p = x + o * r * inner;
    float *q = out + o * inner;
    if (is_sum) {
      for (int64_t i = 0; i < inner; i++) acc[i] = p[i];
      for (int64_t j = 1; j < r; j++)
        for (int64_t i = 0; i < inner; i++) acc[i] += p[j * inner + i];
      for (int64_t i = 0; i < inner; i++) q[i] = (float)(op == RED_MEAN ? acc[i] / r : acc[i]);
    } else {
      memcpy(q, p, sizeof(float) * inner);
      for (int64_t j = 1; j < r; j++)
        for (int64_t i = 0; i < inner; i++) {
          float v = p[j * inner + i];
          if (op == RED_MAX ? (v > q[i] || v != v) : (v < q[i] || v != v)) q[i] = v;
        }
    }
  }
  free(acc);
  return 0;
}

void k_softmax(const float *x, float *out, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = x + r * cols;
    float *q = out + r * cols;
    const float m = extreme_row(p, cols, 1);
    for (int64_t j = 0; j < cols; j++) q[j] = vexp(p[j] - m);
    const float inv = (float)(1.0 / sum_row(q, cols)); // a multiply per element, not a double division
    for (int64_t j = 0; j < cols; j++) q[j] *= inv;
  }
}

// [rows, cols] -> [cols, rows] in cache tiles; the common case (last two dims swapped).
static void transpose2d(const float *x, float *o, int64_t rows, int64_t cols) {
  const int64_t T = 32;
  for (int64_t i0 = 0; i0 < rows; i0 += T)
    for (int64_t j0 = 0; j0 < cols; j0 += T) {
      const int64_t i1 = i0 + T < rows ? i0 + T : rows, j1 = j0 + T < cols ? j0 + T : cols;
      for (int64_t j = j0; j < j1; j++)
        for (int64_t i = i0; i < i1; i++) o[j * rows + i] = x[i * cols + j];
    }
}

void k_transpose(const float *x, float *out, const int32_t *shape, const int32_t *perm, int rank) {
  if (rank < 1 || rank > MAX_RANK) return;
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= shape[d];
  if (rank == 2) { transpose2d(x, out, shape[0], shape[1]); return; }
  if (rank == 3 && perm[0] == 0 && perm[1] == 2) {
    const int64_t m = (int64_t)shape[1] * shape[2];
    for (int64_t b = 0; b < shape[0]; b++) transpose2d(x + b * m, out + b * m, shape[1], shape[2]);
    return;
  }
  int64_t inStride[MAX_RANK], step[MAX_RANK], oshape[MAX_RANK], idx[MAX_RANK] = {0};
  inStride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) inStride[d] = inStride[d + 1] * shape[d + 1];
  for (int d = 0; d < rank; d++) { step[d] = inStride[perm[d]]; oshape[d] = shape[perm[d]]; }
  const int last = rank - 1;
  const int64_t n = oshape[last], s = step[last];
  int64_t off = 0;
  for (int64_t o = 0; o < total; o += n) {
    if (s == 1) memcpy(out + o, x + off, sizeof(float) * n);
    else for (int64_t i = 0; i < n; i++) out[o + i] = x[off + i * s];
    for (int d = last - 1; d >= 0; d--) {
      off += step[d];
      if (++idx[d] < oshape[d]) break;
      off -= step[d] * oshape[d];
      idx[d] = 0;
    }
  }
}

int64_t k_gather(const float *x, const int32_t *idx, float *out, int64_t outer, int64_t n, int64_t inner,
                 int64_t k) {
  for (int64_t j = 0; j < k; j++)
    if (idx[j] < 0 || idx[j] >= n) return j;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t j = 0; j < k; j++)
      memcpy(out + (o * k + j) * inner, x + (o * n + idx[j]) * inner, sizeof(float) * inner);
  return -1;
}

void k_segment_sum(const float *x, const int32_t *ids, float *out, int64_t rows, int64_t inner,
                   int64_t segments) {
  for (int64_t r = 0; r < rows; r++) {
    const int32_t s = ids[r];
    if (s < 0 || s >= segments) continue;
    const float *p = x + r * inner;
    float *q = out + (int64_t)s * inner;
    for (int64_t i = 0; i < inner; i++) q[i] += p[i];
  }
}

// Walks the rows of a box of a row-major tensor: copies box -> contiguous (slice) or back (insert).
static void box_copy(float *big, float *box, const int32_t *shape, const int32_t *begin, const int32_t *size,
                     int rank, int to_box) {
  if (rank < 1 || rank > MAX_RANK) return;
  int64_t stride[MAX_RANK], idx[MAX_RANK] = {0}, rows = 1, off = 0;
  stride[rank - 1] = 1;
  for (int d = rank - 2; d >= 0; d--) stride[d] = stride[d + 1] * shape[d + 1];
  for (int d = 0; d < rank; d++) off += (int64_t)begin[d] * stride[d];
  for (int d = 0; d < rank - 1; d++) rows *= size[d];
  const int64_t n = size[rank - 1];
  for (int64_t r = 0; r < rows; r++) {
    if (to_box) memcpy(box + r * n, big + off, sizeof(float) * n);
    else memcpy(big + off, box + r * n, sizeof(float) * n);
    for (int d = rank - 2; d >= 0; d--) {
      off += stride[d];
      if (++idx[d] < size[d]) break;
      off -= stride[d] * size[d];
      idx[d] = 0;
    }
  }
}

void k_slice(const float *x, float *out, const int32_t *shape, const int32_t *begin, const int32_t *size, int rank) {
  box_copy((float *)x, out, shape, begin, size, rank, 1);
}

void k_insert(const float *x, float *out, const int32_t *shape, const int32_t *begin, const int32_t *size, int rank) {
  box_copy(out, (float *)x, shape, begin, size, rank, 0);
}

void k_copy_rows(const float *src, float *dst, int64_t dstOffset, int64_t dstStride, int64_t rows, int64_t width) {
  for (int64_t r = 0; r < rows; r++) memcpy(dst + r * dstStride + dstOffset, src + r * width, sizeof(float) * width);
}

void k_xent_forward(const float *logits, const int32_t *labels, float *loss, float *lse, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = logits + r * cols;
    const float m = extreme_row(p, cols, 1);
    // Float lanes (terms in (0, 1], at most a few thousand): a double accumulator kept gcc from vectorising
    // vexp, 10x slower. The row (cols floats) stays in L1 between the max and the exp pass.
    float s = 0;
#pragma omp simd reduction(+ : s)
    for (int64_t j = 0; j < cols; j++) s += vexp(p[j] - m);
    const float l = (float)(m + log((double)s));
    const int32_t y = labels[r];
    lse[r] = l;
    loss[r] = (y >= 0 && y < cols) ? l - p[y] : NAN;
  }
}

void k_xent_backward(const float *logits, const int32_t *labels, const float *lse, const float *dy, float *out,
                     int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; r++) {
    const float *p = logits + r * cols;
    float *q = out + r * cols;
    const float l = lse[r], g = dy[r];
    for (int64_t j = 0; j < cols; j++) q[j] = g * vexp(p[j] - l);
    const int32_t y = labels[r];
    if (y >= 0 && y < cols) q[y] -= g;
  }
}
