#include <math.h>
#include "optim.h"

double k_sum_squares(const float *x, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
  return s;
}

void k_adam(const float *p, const float *grad, float *m, float *v, float *out, int64_t n, float lr, float beta1,
            float beta2, float eps, float wd, float c1, float c2, float scale) {
  const float a1 = 1.f - beta1, a2 = 1.f - beta2, r1 = 1.f / c1, r2 = 1.f / c2;
  for (int64_t i = 0; i < n; i++) {
    const float g = grad[i] * scale;
    const float mi = beta1 * m[i] + a1 * g;
    const float vi = beta2 * v[i] + a2 * g * g;
    m[i] = mi;
    v[i] = vi;
    out[i] = p[i] - lr * (mi * r1 / (sqrtf(vi * r2) + eps) + wd * p[i]);
  }
}
