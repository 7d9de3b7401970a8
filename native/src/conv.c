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

void k_dwconv2d_forward(const float *x, const float *filter, float *out, const ConvGeom *g) {
  const int64_t C = g->cin;
  for (int64_t m = 0; m < g->n; m++)
    for (int64_t oy = 0; oy < g->oh; oy++) {
      const int64_t y0 = oy * g->sh - g->pt;
      const int64_t i0 = max64(0, -y0), i1 = min64(g->kh, g->h - y0);
      for (int64_t ox = 0; ox < g->ow; ox++) {
        float *restrict o = out + ((m * g->oh + oy) * g->ow + ox) * C;
        const int64_t x0 = ox * g->sw - g->pl;
        int64_t j0, j1;
        tap_range(x0, g->kw, g->w, &j0, &j1);
        memset(o, 0, sizeof(float) * C);
        for (int64_t i = i0; i < i1; i++)
          for (int64_t j = j0; j < j1; j++) {
            const float *restrict xp = x + ((m * g->h + y0 + i) * g->w + x0 + j) * C;
            const float *restrict wp = filter + (i * g->kw + j) * C;
            for (int64_t c = 0; c < C; c++) o[c] += xp[c] * wp[c];
          }
      }
    }
}

// Scatter form: each dy pixel adds its taps into dx, so every read and write is a contiguous channel row.
void k_dwconv2d_backprop_input(const float *dy, const float *filter, float *dx, const ConvGeom *g) {
  const int64_t C = g->cin;
  memset(dx, 0, sizeof(float) * g->n * g->h * g->w * C);
  for (int64_t m = 0; m < g->n; m++)
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
            float *restrict d = dx + ((m * g->h + y0 + i) * g->w + x0 + j) * C;
            const float *restrict wp = filter + (i * g->kw + j) * C;
            for (int64_t c = 0; c < C; c++) d[c] += gp[c] * wp[c];
          }
      }
    }
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

// Channel sums accumulate in double (rows can be n*h*w = 50k); per-element math is float, as in the tfjs
// composition (lib/native/batchnorm.ts), so both round alike.
static inline float bn_rstd(float var, float eps) { return (float)(1.0 / sqrt((double)(var + eps))); }

int k_batchnorm_forward(const float *x, const float *gamma, const float *beta, float eps, int relu6, float *y,
                        float *mean, float *var, int64_t rows, int64_t c) {
  double *acc = calloc((size_t)c, sizeof(double));
  if (!acc) return -1;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict p = x + r * c;
    for (int64_t j = 0; j < c; j++) acc[j] += p[j];
  }
  for (int64_t j = 0; j < c; j++) {
    mean[j] = (float)(acc[j] / rows);
    acc[j] = 0;
  }
  // Two passes (centred squares), not E[x^2] - E[x]^2: no cancellation when |mean| >> std.
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict p = x + r * c;
    for (int64_t j = 0; j < c; j++) {
      const float d = p[j] - mean[j];
      acc[j] += d * d;
    }
  }
  for (int64_t j = 0; j < c; j++) var[j] = (float)(acc[j] / rows);
  float *rstd = (float *)acc; // acc is spent: its storage holds rstd [c] (c floats fit in c doubles)
  for (int64_t j = 0; j < c; j++) rstd[j] = bn_rstd(var[j], eps);
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict p = x + r * c;
    float *restrict q = y + r * c;
    for (int64_t j = 0; j < c; j++) {
      const float v = (p[j] - mean[j]) * rstd[j] * gamma[j] + beta[j];
      q[j] = relu6 ? fminf(fmaxf(v, 0.f), 6.f) : v;
    }
  }
  free(acc);
  return 0;
}

// With xh = (x - mean) * rstd and g = dy masked by ReLU6's pass-through region (0 < pre <= 6, as tfjs's Relu6
// gradient): dbeta = sum g, dgamma = sum g * xh, dx = rstd * gamma * (g - dbeta / rows - xh * dgamma / rows).
int k_batchnorm_backward(const float *x, const float *gamma, const float *beta, const float *mean,
                         const float *var, float eps, int relu6, const float *dy, float *dx, float *dgamma,
                         float *dbeta, int64_t rows, int64_t c) {
  double *sums = calloc((size_t)(2 * c), sizeof(double)); // sum g, sum g * xh
  float *rstd = malloc(sizeof(float) * c);
  if (!sums || !rstd) {
    free(sums);
    free(rstd);
    return -1;
  }
  for (int64_t j = 0; j < c; j++) rstd[j] = bn_rstd(var[j], eps);
  double *sg = sums, *sgx = sums + c;
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict p = x + r * c, *restrict d = dy + r * c;
    for (int64_t j = 0; j < c; j++) {
      const float xh = (p[j] - mean[j]) * rstd[j], pre = xh * gamma[j] + beta[j];
      const float gj = !relu6 || (pre > 0.f && pre <= 6.f) ? d[j] : 0.f;
      sg[j] += gj;
      sgx[j] += gj * xh;
    }
  }
  for (int64_t j = 0; j < c; j++) {
    dbeta[j] = (float)sg[j];
    dgamma[j] = (float)sgx[j];
  }
  float *a = (float *)sg, *b = (float *)sgx; // reuse as float [c] each: mean of g and of g * xh
  for (int64_t j = 0; j < c; j++) {
    a[j] = dbeta[j] / (float)rows;
    b[j] = dgamma[j] / (float)rows;
  }
  for (int64_t r = 0; r < rows; r++) {
    const float *restrict p = x + r * c, *restrict d = dy + r * c;
    float *restrict q = dx + r * c;
    for (int64_t j = 0; j < c; j++) {
      const float xh = (p[j] - mean[j]) * rstd[j], pre = xh * gamma[j] + beta[j];
      const float gj = !relu6 || (pre > 0.f && pre <= 6.f) ? d[j] : 0.f;
      q[j] = rstd[j] * gamma[j] * (gj - a[j] - xh * b[j]);
    }
  }
  free(sums);
  free(rstd);
  return 0;
}
