// Fused multi-head attention core (optional key padding mask) over the [B*T, D] layout of the q, k, v projections: head h
// of sequence b is the [T, dh] block at rows b*T.., columns h*dh.. (row stride D), so no transposes.
#ifndef MAGIC_ATTENTION_H
#define MAGIC_ATTENTION_H
#include <stdint.h>

// ctx_bh = P_bh v_bh with P_bh = softmax(q_bh k_bh^T / sqrt(dh) + kbias_b) row-wise; P [B, H, T, T] is kept
// for the backward pass (which needs no mask: P is 0 at masked keys). kbias [B*T] is added to every row of
// sequence b's scores (0 at real tokens, -1e9 at padding), or NULL for no mask, which computes exactly what
// the kernel computed before the mask existed. dim = D, a multiple of heads; the caller checks sizes.
void k_attention_forward(const float *q, const float *k, const float *v, const float *kbias, float *ctx, float *p,
                         int64_t batch, int64_t seq, int64_t heads, int64_t dim);
// Gradients of the forward pass given dctx, writing every element of dq, dk and dv. Returns 0, or -1 when
// its T x T scratch buffer cannot be allocated.
int k_attention_backward(const float *q, const float *k, const float *v, const float *p, const float *dctx,
                         float *dq, float *dk, float *dv, int64_t batch, int64_t seq, int64_t heads, int64_t dim);
#endif
