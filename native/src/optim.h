// Optimizer kernels: one pass per variable instead of ~15 tfjs kernels (see lib/train/host-math.ts).
#ifndef MAGIC_OPTIM_H
#define MAGIC_OPTIM_H
#include <stdint.h>

// Sum of x[i]^2, accumulated in double so that a norm over millions of values does not lose precision.
double k_sum_squares(const float *x, int64_t n);
// Adam(W) on one variable: g = grad * scale; m, v updated in place; out = p - lr * (mhat / (sqrt(vhat) + eps)
// + wd * p) with mhat = m / c1, vhat = v / c2 (c1, c2: bias corrections). `out` may alias `p`.
void k_adam(const float *p, const float *grad, float *m, float *v, float *out, int64_t n, float lr, float beta1,
            float beta2, float eps, float wd, float c1, float c2, float scale);
#endif
