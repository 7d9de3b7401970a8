// 2-D convolutions (NHWC, float32, dilation 1) and a training-mode BatchNorm(+ReLU6) for the CNN search space
// (lib/native/conv.ts, lib/native/batchnorm.ts). Callers (addon.c) validate the geometry and the array sizes;
// outputs are caller-allocated and fully written here (accumulated gradients are zeroed here).
#ifndef MAGIC_CONV_H
#define MAGIC_CONV_H
#include <stdint.h>

// x [n, h, w, cin], filter [kh, kw, cin, cout] (depthwise: [kh, kw, cin, 1], cout = cin), out [n, oh, ow, cout].
// Output pixel (oy, ox) reads input rows oy*sh - pt + i and columns ox*sw - pl + j (i < kh, j < kw); taps
// outside the image read zeros, so 'same', 'valid' and explicit pads are all a (pt, pl) pair.
typedef struct { int64_t n, h, w, cin, kh, kw, cout, oh, ow, sh, sw, pt, pl; } ConvGeom;
#define CONV_GEOM_LEN 13

// Dense conv through im2col + cblas_sgemm (a 1x1 stride-1 unpadded conv is one sgemm on x itself).
// Return 0, or -1 when the im2col buffer cannot be allocated.
int k_conv2d_forward(const float *x, const float *filter, float *out, const ConvGeom *g);
int k_conv2d_backprop_input(const float *dy, const float *filter, float *dx, const ConvGeom *g);
int k_conv2d_backprop_filter(const float *x, const float *dy, float *dfilter, const ConvGeom *g);

// Depthwise conv, channel multiplier 1: direct loops vectorised over channels. Return 0, or -1 when a scratch
// buffer (tap lists, accumulators) cannot be allocated.
int k_dwconv2d_forward(const float *x, const float *filter, float *out, const ConvGeom *g);
int k_dwconv2d_backprop_input(const float *dy, const float *filter, float *dx, const ConvGeom *g);
int k_dwconv2d_backprop_filter(const float *x, const float *dy, float *dfilter, const ConvGeom *g);

// BatchNorm over the rows of x [rows, c] with batch statistics: y = act((x - mean) * rstd * gamma + beta),
// rstd = 1 / sqrt(var + eps), var biased, act = min(max(., 0), 6) when relu6. Writes mean [c] and var [c].
// Return 0, or -1 when the double accumulators cannot be allocated.
int k_batchnorm_forward(const float *x, const float *gamma, const float *beta, float eps, int relu6, float *y,
                        float *mean, float *var, int64_t rows, int64_t c);
// Gradients of the above given its mean and var: dx [rows, c], dgamma [c], dbeta [c].
int k_batchnorm_backward(const float *x, const float *gamma, const float *beta, const float *mean,
                         const float *var, float eps, int relu6, const float *dy, float *dx, float *dgamma,
                         float *dbeta, int64_t rows, int64_t c);
#endif
