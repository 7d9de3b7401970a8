// Dense convs as im2col + cblas_sgemm (threaded by OpenBLAS like every matmul: OPENBLAS_NUM_THREADS), depthwise
// convs and BatchNorm as direct loops over NHWC rows vectorised over channels (memory-bound; single-threaded
// like the other elementwise kernels). Filter layout [kh, kw, cin, cout] is the [kh*kw*cin, cout] matrix that
// multiplies im2col rows laid out (i, j, c).
#include "conv.h"
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// im2col rows per chunk: up to this many floats (16 MB) of columns, at least one image.
#define COL_BUDGET (INT64_C(1) << 22)

static int64_t taps(const ConvGeom *g) { return g->kh * g->kw * g->cin; }

static int is_pointwise(const ConvGeom *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h &&
         g->ow == g->w;
}

static int64_t chunk_images(const ConvGeom *g) {
  const int64_t per_image = g->oh * g->ow * taps(g);
  return max64(1, min64(g->n, COL_BUDGET / max64(per_image, 1)));
}

// Columns j in [*j0, *j1) of the kernel land inside the image for an output column starting at input column x0.
static inline void tap_range(int64_t x0, int64_t k, int64_t size, int64_t *j0, int64_t *j1) {
  *j0 = max64(0, -x0);
  *j1 = min64(k, size - x0);
}

// cols [images*oh*ow, kh*kw*cin] from images [0, images) of x. For one kernel row i the kw taps are adjacent
// pixels, so their in-image part is one contiguous run of x.
static void im2col(const float *x, float *cols, const ConvGeom *g, int64_t images) {
  const int64_t C = g->cin, K = taps(g), run = g->kw * C;
  for (int64_t m = 0; m < images; m++)
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        float *row = cols + ((m * g->oh + oy) * g->ow + ox) * K;
        const int64_t y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl;
        int64_t j0, j1;
        tap_range(x0, g->kw, g->w, &j0, &j1);
        for (int64_t i = 0; i < g->kh; i++) {
          float *dst = row + i * run;
          const int64_t iy = y0 + i;
          if (iy < 0 || iy >= g->h || j0 >= j1) {
            memset(dst, 0, sizeof(float) * run);
            continue;
          }
          memset(dst, 0, sizeof(float) * j0 * C);
          memcpy(dst + j0 * C, x + ((m * g->h + iy) * g->w + x0 + j0) * C, sizeof(float) * (j1 - j0) * C);
          memset(dst + j1 * C, 0, sizeof(float) * (g->kw - j1) * C);
        }
      }
}

// The adjoint of im2col: dx (zeroed by the caller) += the in-image parts of the rows of dcols.
static void col2im(const float *dcols, float *dx, const ConvGeom *g, int64_t images) {
  const int64_t C = g->cin, K = taps(g), run = g->kw * C;
  for (int64_t m = 0; m < images; m++)
    for (int64_t oy = 0; oy < g->oh; oy++)
      for (int64_t ox = 0; ox < g->ow; ox++) {
        const float *row = dcols + ((m * g->oh + oy) * g->ow + ox) * K;
        const int64_t y0 = oy * g->sh - g->pt, x0 = ox * g->sw - g->pl;
        int64_t j0, j1;
        tap_range(x0, g->kw, g->w, &j0, &j1);
        if (j0 >= j1) continue;
        for (int64_t i = 0; i < g->kh; i++) {
          const int64_t iy = y0 + i;
          if (iy < 0 || iy >= g->h) continue;
          const float *restrict src = row + i * run + j0 * C;
          float *restrict dst = dx + ((m * g->h + iy) * g->w + x0 + j0) * C;
          for (int64_t t = 0; t < (j1 - j0) * C; t++) dst[t] += src[t];
        }
      }
}

static void sgemm(int ta, int tb, int64_t m, int64_t n, int64_t k, const float *a, const float *b, float beta,
                  float *c) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k,
              1.f, a, ta ? (int)m : (int)k, b, tb ? (int)k : (int)n, beta, c, (int)n);
}

int k_conv2d_forward(const float *x, const float *filter, float *out, const ConvGeom *g) {
  const int64_t K = taps(g), rows = g->oh * g->ow;
  if (is_pointwise(g)) {
    sgemm(0, 0, g->n * rows, g->cout, K, x, filter, 0.f, out);
    return 0;
  }
  const int64_t chunk = chunk_images(g);
  float *cols = malloc(sizeof(float) * chunk * rows * K);
  if (!cols) return -1;
  for (int64_t m = 0; m < g->n; m += chunk) {
    const int64_t images = min64(chunk, g->n - m);
    im2col(x + m * g->h * g->w * g->cin, cols, g, images);
    sgemm(0, 0, images * rows, g->cout, K, cols, filter, 0.f, out + m * rows * g->cout);
  }
  free(cols);
  return 0;
}

int k_conv2d_backprop_input(const float *dy, const float *filter, float *dx, const ConvGeom *g) {
  const int64_t K = taps(g), rows = g->oh * g->ow;
  if (is_pointwise(g)) {
    sgemm(0, 1, g->n * rows, K, g->cout, dy, filter, 0.f, dx); // dy @ filter^T
    return 0;
  }
  const int64_t chunk = chunk_images(g);
  float *dcols = malloc(sizeof(float) * chunk * rows * K);
  if (!dcols) return -1;
  memset(dx, 0, sizeof(float) * g->n * g->h * g->w * g->cin);
  for (int64_t m = 0; m < g->n; m += chunk) {
    const int64_t images = min64(chunk, g->n - m);
    sgemm(0, 1, images * rows, K, g->cout, dy + m * rows * g->cout, filter, 0.f, dcols);
    col2im(dcols, dx + m * g->h * g->w * g->cin, g, images);
  }
  free(dcols);
  return 0;
}

int k_conv2d_backprop_filter(const float *x, const float *dy, float *dfilter, const ConvGeom *g) {
  const int64_t K = taps(g), rows = g->oh * g->ow;
  if (is_pointwise(g)) {
    sgemm(1, 0, K, g->cout, g->n * rows, x, dy, 0.f, dfilter); // x^T @ dy
    return 0;
  }
  const int64_t chunk = chunk_images(g);
  float *cols = malloc(sizeof(float) * chunk * rows * K);
  if (!cols) return -1;
  for (int64_t m = 0; m < g->n; m += chunk) {
    const int64_t images = min64(chunk, g->n - m);
    im2col(x + m * g->h * g->w * g->cin, cols, g, images);
    sgemm(1, 0, K, g->cout, images * rows, cols, dy + m * rows * g->cout, m ? 1.f : 0.f, dfilter);
  }
  free(cols);
  return 0;
}

// Depthwise forward and input gradient gather, per output pixel, the taps' contributions over channel blocks of
// DW_BLOCK floats held in registers across the taps (four 8-float vectors), then 8-float blocks, then single
// channels.
#define DW_BLOCK 32

// GCC/Clang vector extensions (unaligned): the accumulators are named vector variables, so they stay in
// registers across the taps (an array accumulator went through the stack and was slower than no blocking).
typedef float v8f __attribute__((vector_size(32), aligned(4), may_alias));

// out[0, C) = sum over taps t of a[t][0, C) * b[t][0, C), where a[t] = pa + offa[t], b[t] = pb + offb[t].
static inline void dw_gather(const float *pa, const int64_t *offa, const float *pb, const int64_t *offb, int64_t taps,
                             float *restrict out, int64_t C) {
  int64_t c0 = 0;
  for (; c0 + DW_BLOCK <= C; c0 += DW_BLOCK) {
    v8f s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    for (int64_t t = 0; t < taps; t++) {
      const v8f *u = (const v8f *)(pa + offa[t] + c0), *v = (const v8f *)(pb + offb[t] + c0);
      s0 += u[0] * v[0];
      s1 += u[1] * v[1];
      s2 += u[2] * v[2];
      s3 += u[3] * v[3];
    }
    v8f *o = (v8f *)(out + c0);
    o[0] = s0;
    o[1] = s1;
    o[2] = s2;
    o[3] = s3;
  }
  for (; c0 + 8 <= C; c0 += 8) {
    v8f s0 = {0};
    for (int64_t t = 0; t < taps; t++) s0 += *(const v8f *)(pa + offa[t] + c0) * *(const v8f *)(pb + offb[t] + c0);
    *(v8f *)(out + c0) = s0;
  }
  for (; c0 < C; c0++) {
    float s0 = 0.f;
    for (int64_t t = 0; t < taps; t++) s0 += pa[offa[t] + c0] * pb[offb[t] + c0];
    out[c0] = s0;
  }
}

// Tap lists have at most kh*kw entries: two arrays of that many offsets.
static int64_t *tap_lists(const ConvGeom *g) { return malloc(sizeof(int64_t) * 2 * (size_t)(g->kh * g->kw)); }

int k_dwconv2d_forward(const float *x, const float *filter, float *out, const ConvGeom *g) {
  const int64_t C = g->cin;
  int64_t *offx = tap_lists(g);
  if (!offx) return -1;
  int64_t *offw = offx + g->kh * g->kw;
  for (int64_t m = 0; m < g->n; m++)
    for (int64_t oy = 0; oy < g->oh; oy++) {
      const int64_t y0 = oy * g->sh - g->pt;
      const int64_t i0 = max64(0, -y0), i1 = min64(g->kh, g->h - y0);
      for (int64_t ox = 0; ox < g->ow; ox++) {
        const int64_t x0 = ox * g->sw - g->pl;
        int64_t j0, j1, taps = 0;
        tap_range(x0, g->kw, g->w, &j0, &j1);
        for (int64_t i = i0; i < i1; i++)
          for (int64_t j = j0; j < j1; j++, taps++) {
            offx[taps] = ((m * g->h + y0 + i) * g->w + x0 + j) * C;
            offw[taps] = (i * g->kw + j) * C;
          }
        dw_gather(x, offx, filter, offw, taps, out + ((m * g->oh + oy) * g->ow + ox) * C, C);
      }
    }
  free(offx);
  return 0;
}

// dx pixel (y, x) gathers dy pixel ((y + pt - i) / sh, (x + pl - j) / sw) times tap (i, j) wherever the division
// is exact and the pixel exists.
int k_dwconv2d_backprop_input(const float *dy, const float *filter, float *dx, const ConvGeom *g) {
  const int64_t C = g->cin;
  int64_t *offg = tap_lists(g);
  if (!offg) return -1;
  int64_t *offw = offg + g->kh * g->kw;
  for (int64_t m = 0; m < g->n; m++)
    for (int64_t y = 0; y < g->h; y++)
      for (int64_t x = 0; x < g->w; x++) {
        int64_t taps = 0;
        for (int64_t i = 0; i < g->kh; i++) {
          const int64_t ny = y + g->pt - i;
          if (ny < 0 || ny % g->sh || ny / g->sh >= g->oh) continue;
          for (int64_t j = 0; j < g->kw; j++) {
            const int64_t nx = x + g->pl - j;
            if (nx < 0 || nx % g->sw || nx / g->sw >= g->ow) continue;
            offg[taps] = ((m * g->oh + ny / g->sh) * g->ow + nx / g->sw) * C;
            offw[taps++] = (i * g->kw + j) * C;
          }
        }
        dw_gather(dy, offg, filter, offw, taps, dx + ((m * g->h + y) * g->w + x) * C, C);
      }
  free(offg);
  return 0;
}

// Sums over n*oh*ow pixels: accumulated per image in float, images summed in double (the error of one long
// float sum grows with its length; tfjs's cpu kernel sums in doubles).
int k_dwconv2d_backprop_filter(const float *x, const float *dy, float *dfilter, const ConvGeom *g) {
  const int64_t C = g->cin, len = g->kh * g->kw * C;
  float *part = malloc(sizeof(float) * len);
  double *total = calloc((size_t)len, sizeof(double));
  if (!part || !total) {
    free(part);
    free(total);
    return -1;
  }
  for (int64_t m = 0; m < g->n; m++) {
    memset(part, 0, sizeof(float) * len);
    for (int64_t oy = 0; oy < g->oh; oy++) {
      const int64_t y0 = oy * g->sh - g->pt;
      const int64_t i0 = max64(0, -y0), i1 = min64(g->kh, g->h - y0);
      for (int64_t ox = 0; ox < g->ow; ox++) {
        const float *restrict gp = dy + ((m * g->oh + oy) * g->ow + ox) * C;
        const int64_t x0 = ox * g->sw - g->pl;
        int64_t j0, j1;
        tap_range(x0, g->kw, g->w, &j0, &j1);
        for (int64_t i = i0; i < i1; i++)
          for (int64_t j = j0; j < j1; j++) {
            const float *restrict xp = x + ((m * g->h + y0 + i) * g->w + x0 + j) * C;
            float *restrict p = part + (i * g->kw + j) * C;
            for (int64_t c = 0; c < C; c++) p[c] += gp[c] * xp[c];
          }
      }
    }
    for (int64_t t = 0; t < len; t++) total[t] += part[t];
  }
  for (int64_t t = 0; t < len; t++) dfilter[t] = (float)total[t];
  free(part);
  free(total);
  return 0;
}

// BatchNorm: channel sums run over rows = n*h*w (50k in the bench) per channel. They accumulate in float over
// blocks of BN_BLOCK rows (contiguous channel rows, so the inner loops vectorise) and the block sums in double.
// Mean and variance come from one pass over x shifted by its first row (sums of d and d^2, d = x - x[0]): the
// shift is a sample of each channel, so E[d]^2 is of the order of the variance and the subtraction
// E[d^2] - E[d]^2, in double, loses no float precision unless |x[0] - mean| is ~1e3 standard deviations.
#define BN_BLOCK 16

static inline float bn_rstd(float var, float eps) { return (float)(1.0 / sqrt((double)(var + eps))); }

// y = x * scale + shift per channel is (x - mean) * rstd * gamma + beta; the ReLU6 region is decided on it in
// both directions.
static void bn_affine(const float *restrict gamma, const float *restrict beta, const float *restrict mean,
                      const float *restrict rstd, float *restrict scale, float *restrict shift, int64_t c) {
  for (int64_t j = 0; j < c; j++) {
    scale[j] = rstd[j] * gamma[j];
    shift[j] = beta[j] - mean[j] * scale[j];
  }
}

int k_batchnorm_forward(const float *x, const float *gamma, const float *beta, float eps, int relu6, float *y,
                        float *mean, float *var, int64_t rows, int64_t c) {
  double *tot = calloc((size_t)(2 * c), sizeof(double)); // sums of d, d^2
  float *buf = malloc(sizeof(float) * 5 * c);            // block sums of d, d^2; shift row; scale; shift
  if (!tot || !buf) {
    free(tot);
    free(buf);
    return -1;
  }
  float *restrict ps = buf, *restrict pq = buf + c, *restrict s0 = buf + 2 * c;
  if (rows > 0) memcpy(s0, x, sizeof(float) * c);
  else memset(s0, 0, sizeof(float) * c);
  for (int64_t r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    memset(ps, 0, sizeof(float) * 2 * c);
    for (int64_t r = r0; r < min64(rows, r0 + BN_BLOCK); r++) {
      const float *restrict p = x + r * c;
      for (int64_t j = 0; j < c; j++) {
        const float d = p[j] - s0[j];
        ps[j] += d;
        pq[j] += d * d;
      }
    }
    for (int64_t j = 0; j < c; j++) {
      tot[j] += ps[j];
      tot[c + j] += pq[j];
    }
  }
  float *restrict rstd = ps, *restrict scale = pq, *restrict shift = buf + 3 * c;
  for (int64_t j = 0; j < c; j++) {
    const double md = tot[j] / rows, v = tot[c + j] / rows - md * md;
    mean[j] = (float)(s0[j] + md);
    var[j] = (float)(v > 0 ? v : 0);
    rstd[j] = bn_rstd(var[j], eps);
  }
  bn_affine(gamma, beta, mean, rstd, buf + 4 * c, shift, c);
  memcpy(scale, buf + 4 * c, sizeof(float) * c);
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict p = x + r * c;
    float *restrict q = y + r * c;
    if (relu6)
      for (int64_t j = 0; j < c; j++) {
        const float v = p[j] * scale[j] + shift[j];
        q[j] = v < 0.f ? 0.f : v > 6.f ? 6.f : v;
      }
    else
      for (int64_t j = 0; j < c; j++) q[j] = p[j] * scale[j] + shift[j];
  }
  free(tot);
  free(buf);
  return 0;
}

// With xh = (x - mean) * rstd and g = dy masked by ReLU6's pass-through region (0 < pre <= 6, as tfjs's Relu6
// gradient): dbeta = sum g, dgamma = sum g * xh, dx = rstd * gamma * (g - dbeta / rows - xh * dgamma / rows).
int k_batchnorm_backward(const float *x, const float *gamma, const float *beta, const float *mean,
                         const float *var, float eps, int relu6, const float *dy, float *dx, float *dgamma,
                         float *dbeta, int64_t rows, int64_t c) {
  double *tot = calloc((size_t)(2 * c), sizeof(double)); // sums of g, g * xh
  float *buf = malloc(sizeof(float) * 6 * c);            // block sums of g, g * xh; rstd; scale; shift; spare
  if (!tot || !buf) {
    free(tot);
    free(buf);
    return -1;
  }
  float *restrict ps = buf, *restrict pq = buf + c, *restrict rstd = buf + 2 * c, *restrict scale = buf + 3 * c,
                  *restrict shift = buf + 4 * c;
  for (int64_t j = 0; j < c; j++) rstd[j] = bn_rstd(var[j], eps);
  bn_affine(gamma, beta, mean, rstd, scale, shift, c);
  for (int64_t r0 = 0; r0 < rows; r0 += BN_BLOCK) {
    memset(ps, 0, sizeof(float) * 2 * c);
    for (int64_t r = r0; r < min64(rows, r0 + BN_BLOCK); r++) {
      const float *restrict p = x + r * c, *restrict d = dy + r * c;
      for (int64_t j = 0; j < c; j++) {
        const float pre = p[j] * scale[j] + shift[j];
        const float gj = !relu6 || (pre > 0.f && pre <= 6.f) ? d[j] : 0.f;
        ps[j] += gj;
        pq[j] += gj * ((p[j] - mean[j]) * rstd[j]);
      }
    }
    for (int64_t j = 0; j < c; j++) {
      tot[j] += ps[j];
      tot[c + j] += pq[j];
    }
  }
  float *restrict a = ps, *restrict b = pq; // per channel: mean of g, mean of g * xh
  for (int64_t j = 0; j < c; j++) {
    dbeta[j] = (float)tot[j];
    dgamma[j] = (float)tot[c + j];
    a[j] = (float)(tot[j] / rows);
    b[j] = (float)(tot[c + j] / rows);
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict p = x + r * c, *restrict d = dy + r * c;
    float *restrict q = dx + r * c;
    for (int64_t j = 0; j < c; j++) {
      const float pre = p[j] * scale[j] + shift[j];
      const float gj = !relu6 || (pre > 0.f && pre <= 6.f) ? d[j] : 0.f;
      q[j] = scale[j] * (gj - a[j] - (p[j] - mean[j]) * rstd[j] * b[j]);
    }
  }
  free(tot);
  free(buf);
  return 0;
}
