// Fused forward/backward kernels of the supernet's LayerNorm, GELU and depthwise conv (lib/native/fused.ts):
// one call replaces ~5-25 tfjs kernels each. Callers (addon.c) validate sizes; outputs are caller-allocated
// and fully written here, including the zeroing of accumulated parameter gradients.
#ifndef MAGIC_FUSED_H
#define MAGIC_FUSED_H
#include <stdint.h>

// LayerNorm over rows of x [rows, d]: y = (x - mean) * rstd * gamma + beta; stats [rows, 2] = (mean, rstd) is
// saved for the backward pass, which writes dx [rows, d], dgamma [d] and dbeta [d].
void k_layernorm_forward(const float *x, const float *gamma, const float *beta, float eps, float *y, float *stats,
                         int64_t rows, int64_t d);
void k_layernorm_backward(const float *x, const float *gamma, const float *stats, const float *dy, float *dx,
                          float *dgamma, float *dbeta, int64_t rows, int64_t d);
// y = x * sigmoid(1.702 x); dx = dy * (s + 1.702 x s (1 - s)).
void k_gelu_forward(const float *x, float *y, int64_t n);
void k_gelu_backward(const float *x, const float *dy, float *dx, int64_t n);
// Depthwise conv over time, "same" zero padding: x [b, t, d], w [k, d] (k odd), bias [d] -> out [b, t, d].
void k_dwconv1d_forward(const float *x, const float *w, const float *bias, float *out, int64_t b, int64_t t,
                        int64_t d, int64_t k);
void k_dwconv1d_backward(const float *x, const float *w, const float *dy, float *dx, float *dw, float *dbias,
                         int64_t b, int64_t t, int64_t d, int64_t k);
#endif
