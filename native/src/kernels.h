// Plain-C float32 kernels behind the tfjs "native" backend. Callers (addon.c) validate op codes, dims and
// sizes; every kernel writes a caller-allocated output so the JS side can hand tfjs its own Float32Array
// (zero-copy).
#ifndef MAGIC_KERNELS_H
#define MAGIC_KERNELS_H
#include <stdint.h>

// Most dims of a collapsed shape that the strided kernels (binary, transpose, slice) walk.
#define MAX_RANK 8

enum BinaryOp { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_SQDIFF };
enum UnaryOp {
  OP_EXP, OP_LOG, OP_SQRT, OP_RSQRT, OP_RELU, OP_STEP, OP_NEG, OP_SQUARE,
  OP_TANH, OP_SIGMOID, OP_ABS, OP_RECIPROCAL, OP_ERF
};
enum ReduceOp { RED_SUM, RED_MEAN, RED_MAX, RED_MIN };

// Broadcast binary op over `rank` collapsed dims; strides are in elements (0 = broadcast dim).
void k_binary(int op, const float *a, const int32_t *aStrides, const float *b, const int32_t *bStrides,
              float *out, const int32_t *shape, int rank);
void k_unary(int op, const float *x, float *out, int64_t n, float alpha);
// out[o, i] = reduce_j x[o, j, i] for a [outer, r, inner] view of x (r >= 1). Returns 0, or -1 when its
// accumulator row cannot be allocated.
int k_reduce(int op, const float *x, float *out, int64_t outer, int64_t r, int64_t inner);
void k_softmax(const float *x, float *out, int64_t rows, int64_t cols);
// Permutes a row-major tensor of `rank` collapsed dims: out dim d is input dim perm[d].
void k_transpose(const float *x, float *out, const int32_t *shape, const int32_t *perm, int rank);
// Copies the box [begin, begin + size) of x (row-major `shape`) into out.
void k_slice(const float *x, float *out, const int32_t *shape, const int32_t *begin, const int32_t *size, int rank);
// The inverse of k_slice: writes x (contiguous, shape `size`) into the box at `begin` of out (`shape`).
void k_insert(const float *x, float *out, const int32_t *shape, const int32_t *begin, const int32_t *size, int rank);
// dst[r * dstStride + dstOffset + i] = src[r * width + i]: one input's block of a Concat.
void k_copy_rows(const float *src, float *dst, int64_t dstOffset, int64_t dstStride, int64_t rows, int64_t width);
// out[o, j, :] = x[o, idx[j], :]; returns the first out-of-range index position or -1.
int64_t k_gather(const float *x, const int32_t *idx, float *out, int64_t outer, int64_t n, int64_t inner,
                 int64_t k);
// out[ids[i], :] += x[i, :] (out zeroed by the caller); out-of-range ids are dropped as in tfjs.
void k_segment_sum(const float *x, const int32_t *ids, float *out, int64_t rows, int64_t inner,
                   int64_t segments);
// Sparse softmax cross-entropy over [rows, cols] logits: lse = logsumexp of each row and
// loss = lse - logits[label]; out-of-range labels give NaN. The backward pass writes
// dlogits = dy * (softmax - onehot(label)).
void k_xent_forward(const float *logits, const int32_t *labels, float *loss, float *lse, int64_t rows, int64_t cols);
void k_xent_backward(const float *logits, const int32_t *labels, const float *lse, const float *dy, float *out,
                     int64_t rows, int64_t cols);
#endif
