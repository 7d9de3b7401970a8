// N-API glue: unpacks typed arrays (zero-copy pointers into the JS heap), checks sizes so a wrong call
// throws instead of corrupting memory, and calls OpenBLAS or kernels.c. The JS side (lib/native) shapes
// every call; nothing here allocates JS memory.
#include <node_api.h>
#include <cblas.h>
#include <stdint.h>
#include <string.h>
#include "fused.h"
#include "kernels.h"
#include "optim.h"
#include "attention.h"

typedef struct { void *data; size_t len; napi_typedarray_type type; } Arr;

#define THROW(env, msg) do { napi_throw_error(env, "MAGIC_NATIVE", msg); return NULL; } while (0)
#define ARGS(n) size_t argc = n; napi_value argv[n]; napi_get_cb_info(env, info, &argc, argv, NULL, NULL); \
  if (argc < n) THROW(env, "too few arguments")
#define ARR(name, i, t) Arr name; if (!get_arr(env, argv[i], &name, t)) THROW(env, "argument " #i ": expected " #t)

static int get_arr(napi_env env, napi_value v, Arr *out, napi_typedarray_type want) {
  napi_value buf;
  size_t offset;
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_get_typedarray_info(env, v, &out->type, &out->len, &out->data, &buf, &offset);
  return out->type == want;
}

static int64_t num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return (int64_t)d;
}

static double dbl(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

static int flag(napi_env env, napi_value v) {
  bool b = false;
  napi_get_value_bool(env, v, &b);
  return b;
}

static int is_null(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_null || t == napi_undefined;
}

// gemm(a, b, c, offsA, offsB, M, N, K, transA, transB, bias|null, relu): for each batch i,
// c[i] = act(op(a[offsA[i]]) @ op(b[offsB[i]]) + bias), c[i] being the i-th [M, N] block of c.
static napi_value gemm(napi_env env, napi_callback_info info) {
  ARGS(12);
  ARR(a, 0, napi_float32_array); ARR(b, 1, napi_float32_array); ARR(c, 2, napi_float32_array);
  ARR(oa, 3, napi_int32_array); ARR(ob, 4, napi_int32_array);
  const int64_t M = num(env, argv[5]), N = num(env, argv[6]), K = num(env, argv[7]);
  const int ta = flag(env, argv[8]), tb = flag(env, argv[9]), relu = flag(env, argv[11]);
  const int64_t batch = oa.len;
  if (ob.len != oa.len || (int64_t)c.len != batch * M * N) THROW(env, "gemm: output size mismatch");
  const int32_t *offA = oa.data, *offB = ob.data;
  for (int64_t i = 0; i < batch; i++)
    if (offA[i] < 0 || offB[i] < 0 || offA[i] + M * K > (int64_t)a.len || offB[i] + K * N > (int64_t)b.len)
      THROW(env, "gemm: operand offset out of range");
  const float *bias = NULL;
  size_t biasLen = 0;
  if (!is_null(env, argv[10])) {
    ARR(bi, 10, napi_float32_array);
    if (bi.len != (size_t)N && bi.len != 1) THROW(env, "gemm: bias must have N or 1 elements");
    bias = bi.data;
    biasLen = bi.len;
  }
  float *C = c.data;
  if (M == 0 || N == 0) return NULL; // nothing to write; cblas would reject the zero leading dimensions
  for (int64_t i = 0; i < batch; i++) {
    float *ci = C + i * M * N;
    // The bias is written first and accumulated by sgemm (beta = 1): one pass fewer over c.
    if (bias)
      for (int64_t r = 0; r < M; r++)
        for (int64_t j = 0; j < N; j++) ci[r * N + j] = bias[biasLen == 1 ? 0 : j];
    if (K == 0) { if (!bias) memset(ci, 0, sizeof(float) * M * N); continue; }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.f, (const float *)a.data + offA[i], ta ? (int)M : (int)K,
                (const float *)b.data + offB[i], tb ? (int)K : (int)N, bias ? 1.f : 0.f, ci, (int)N);
  }
  if (relu) k_unary(OP_RELU, C, C, batch * M * N, 0.f);
  return NULL;
}

// Largest element offset a strided walk over `shape` reaches, to bounds-check broadcasting operands.
static int64_t max_offset(const int32_t *shape, const int32_t *strides, int rank) {
  int64_t m = 0;
  for (int d = 0; d < rank; d++) m += (int64_t)(shape[d] - 1) * strides[d];
  return m;
}

// binary(op, a, aStrides, b, bStrides, out, shape)
static napi_value binary(napi_env env, napi_callback_info info) {
  ARGS(7);
  ARR(a, 1, napi_float32_array); ARR(as, 2, napi_int32_array); ARR(b, 3, napi_float32_array);
  ARR(bs, 4, napi_int32_array); ARR(o, 5, napi_float32_array); ARR(sh, 6, napi_int32_array);
  const int rank = (int)sh.len;
  if (rank > 8 || as.len != sh.len || bs.len != sh.len) THROW(env, "binary: rank mismatch");
  int64_t total = 1;
  for (int d = 0; d < rank; d++) total *= ((int32_t *)sh.data)[d];
  if (total != (int64_t)o.len) THROW(env, "binary: output size mismatch");
  if (total == 0) return NULL;
  if (max_offset(sh.data, as.data, rank) >= (int64_t)a.len || max_offset(sh.data, bs.data, rank) >= (int64_t)b.len)
    THROW(env, "binary: operand too small for its strides");
  k_binary((int)num(env, argv[0]), a.data, as.data, b.data, bs.data, o.data, sh.data, rank);
  return NULL;
}

// unary(op, x, out, alpha)
static napi_value unary(napi_env env, napi_callback_info info) {
  ARGS(4);
  ARR(x, 1, napi_float32_array); ARR(o, 2, napi_float32_array);
  if (x.len != o.len) THROW(env, "unary: size mismatch");
  k_unary((int)num(env, argv[0]), x.data, o.data, (int64_t)x.len, (float)dbl(env, argv[3]));
  return NULL;
}

// reduce(op, x, out, outer, r, inner)
static napi_value reduce(napi_env env, napi_callback_info info) {
  ARGS(6);
  ARR(x, 1, napi_float32_array); ARR(o, 2, napi_float32_array);
  const int64_t outer = num(env, argv[3]), r = num(env, argv[4]), inner = num(env, argv[5]);
  if (r < 1 || (int64_t)x.len != outer * r * inner || (int64_t)o.len != outer * inner) THROW(env, "reduce: size mismatch");
  k_reduce((int)num(env, argv[0]), x.data, o.data, outer, r, inner);
  return NULL;
}

// softmax(x, out, rows, cols)
static napi_value softmax(napi_env env, napi_callback_info info) {
  ARGS(4);
  ARR(x, 0, napi_float32_array); ARR(o, 1, napi_float32_array);
  const int64_t rows = num(env, argv[2]), cols = num(env, argv[3]);
  if (cols < 1 || (int64_t)x.len != rows * cols || o.len != x.len) THROW(env, "softmax: size mismatch");
  k_softmax(x.data, o.data, rows, cols);
  return NULL;
}

// transpose(x, out, shape, perm)
static napi_value transpose(napi_env env, napi_callback_info info) {
  ARGS(4);
  ARR(x, 0, napi_float32_array); ARR(o, 1, napi_float32_array);
  ARR(sh, 2, napi_int32_array); ARR(pe, 3, napi_int32_array);
  const int rank = (int)sh.len;
  if (rank < 1 || rank > 8 || pe.len != sh.len || o.len != x.len) THROW(env, "transpose: size mismatch");
  int64_t total = 1;
  int seen = 0;
  for (int d = 0; d < rank; d++) {
    const int32_t p = ((int32_t *)pe.data)[d];
    if (p < 0 || p >= rank || (seen >> p) & 1) THROW(env, "transpose: invalid permutation");
    seen |= 1 << p;
    total *= ((int32_t *)sh.data)[d];
  }
  if (total != (int64_t)x.len) THROW(env, "transpose: shape does not match data");
  if (total > 0) k_transpose(x.data, o.data, sh.data, pe.data, rank);
  return NULL;
}

// slice(x, out, shape, begin, size) copies the box of x (shape) into out; insert(x, out, shape, begin, size)
// writes x (shape `size`) into the box of out (shape): the same walk, used by Slice and PadV2.
static napi_value box(napi_env env, napi_callback_info info, int to_box) {
  ARGS(5);
  ARR(x, 0, napi_float32_array); ARR(o, 1, napi_float32_array); ARR(sh, 2, napi_int32_array);
  ARR(be, 3, napi_int32_array); ARR(sz, 4, napi_int32_array);
  const int rank = (int)sh.len;
  if (rank < 1 || rank > 8 || be.len != sh.len || sz.len != sh.len) THROW(env, "slice/insert: rank mismatch");
  const int32_t *s = sh.data, *b = be.data, *z = sz.data;
  int64_t bigTotal = 1, boxTotal = 1;
  for (int d = 0; d < rank; d++) {
    if (b[d] < 0 || z[d] < 0 || b[d] + z[d] > s[d]) THROW(env, "slice/insert: box outside the tensor");
    bigTotal *= s[d];
    boxTotal *= z[d];
  }
  const int64_t bigLen = (int64_t)(to_box ? x.len : o.len), boxLen = (int64_t)(to_box ? o.len : x.len);
  if (bigTotal != bigLen || boxTotal != boxLen) THROW(env, "slice/insert: size mismatch");
  if (boxTotal == 0) return NULL;
  if (to_box) k_slice(x.data, o.data, s, b, z, rank);
  else k_insert(x.data, o.data, s, b, z, rank);
  return NULL;
}

static napi_value slice(napi_env env, napi_callback_info info) { return box(env, info, 1); }
static napi_value insert(napi_env env, napi_callback_info info) { return box(env, info, 0); }

// copyRows(src, dst, dstOffset, dstStride, rows): src is [rows, width] with width = src.length / rows.
static napi_value copy_rows(napi_env env, napi_callback_info info) {
  ARGS(5);
  ARR(src, 0, napi_float32_array); ARR(dst, 1, napi_float32_array);
  const int64_t off = num(env, argv[2]), stride = num(env, argv[3]), rows = num(env, argv[4]);
  if (rows <= 0) return NULL;
  const int64_t width = (int64_t)src.len / rows;
  if (width * rows != (int64_t)src.len || off < 0 || off + width > stride || rows * stride > (int64_t)dst.len)
    THROW(env, "copyRows: size mismatch");
  k_copy_rows(src.data, dst.data, off, stride, rows, width);
  return NULL;
}

// gather(x, indices, out, outer, n, inner) -> -1, or the position of the first out-of-range index
static napi_value gather(napi_env env, napi_callback_info info) {
  ARGS(6);
  ARR(x, 0, napi_float32_array); ARR(ix, 1, napi_int32_array); ARR(o, 2, napi_float32_array);
  const int64_t outer = num(env, argv[3]), n = num(env, argv[4]), inner = num(env, argv[5]);
  const int64_t k = (int64_t)ix.len;
  if ((int64_t)x.len != outer * n * inner || (int64_t)o.len != outer * k * inner) THROW(env, "gather: size mismatch");
  napi_value result;
  napi_create_int64(env, k_gather(x.data, ix.data, o.data, outer, n, inner, k), &result);
  return result;
}

// segmentSum(x, ids, out, segments): out must be zero-filled.
static napi_value segment_sum(napi_env env, napi_callback_info info) {
  ARGS(4);
  ARR(x, 0, napi_float32_array); ARR(ids, 1, napi_int32_array); ARR(o, 2, napi_float32_array);
  const int64_t segments = num(env, argv[3]), rows = (int64_t)ids.len;
  const int64_t inner = rows ? (int64_t)x.len / rows : 0;
  if (inner * rows != (int64_t)x.len || (int64_t)o.len != segments * inner) THROW(env, "segmentSum: size mismatch");
  k_segment_sum(x.data, ids.data, o.data, rows, inner, segments);
  return NULL;
}

// xentForward(logits, labels, loss, lse): logits [rows, cols], labels/loss/lse [rows]
static napi_value xent_forward(napi_env env, napi_callback_info info) {
  ARGS(4);
  ARR(x, 0, napi_float32_array); ARR(y, 1, napi_int32_array); ARR(loss, 2, napi_float32_array);
  ARR(lse, 3, napi_float32_array);
  const int64_t rows = (int64_t)y.len, cols = rows ? (int64_t)x.len / rows : 0;
  if (rows == 0 || cols == 0 || cols * rows != (int64_t)x.len || loss.len != y.len || lse.len != y.len)
    THROW(env, "xentForward: size mismatch");
  k_xent_forward(x.data, y.data, loss.data, lse.data, rows, cols);
  return NULL;
}

// xentBackward(logits, labels, lse, dy, out)
static napi_value xent_backward(napi_env env, napi_callback_info info) {
  ARGS(5);
  ARR(x, 0, napi_float32_array); ARR(y, 1, napi_int32_array); ARR(lse, 2, napi_float32_array);
  ARR(dy, 3, napi_float32_array); ARR(o, 4, napi_float32_array);
  const int64_t rows = (int64_t)y.len, cols = rows ? (int64_t)x.len / rows : 0;
  if (rows == 0 || cols == 0 || cols * rows != (int64_t)x.len || lse.len != y.len || dy.len != y.len || o.len != x.len)
    THROW(env, "xentBackward: size mismatch");
  k_xent_backward(x.data, y.data, lse.data, dy.data, o.data, rows, cols);
  return NULL;
}

// Fused LayerNorm / GELU / depthwise conv (fused.c); sizes are implied by the arrays and checked against each other.
// layerNormForward(x, gamma, beta, eps, y, stats): x, y [rows, d]; gamma, beta [d]; stats [rows, 2]
static napi_value layer_norm_forward(napi_env env, napi_callback_info info) {
  ARGS(6);
  ARR(x, 0, napi_float32_array); ARR(g, 1, napi_float32_array); ARR(b, 2, napi_float32_array);
  ARR(y, 4, napi_float32_array); ARR(st, 5, napi_float32_array);
  const int64_t d = (int64_t)g.len, rows = (int64_t)st.len / 2;
  if (d == 0 || b.len != g.len || (int64_t)st.len != 2 * rows || (int64_t)x.len != rows * d || y.len != x.len)
    THROW(env, "layerNormForward: size mismatch");
  k_layernorm_forward(x.data, g.data, b.data, (float)dbl(env, argv[3]), y.data, st.data, rows, d);
  return NULL;
}

// layerNormBackward(x, gamma, stats, dy, dx, dgamma, dbeta)
static napi_value layer_norm_backward(napi_env env, napi_callback_info info) {
  ARGS(7);
  ARR(x, 0, napi_float32_array); ARR(g, 1, napi_float32_array); ARR(st, 2, napi_float32_array);
  ARR(dy, 3, napi_float32_array); ARR(dx, 4, napi_float32_array); ARR(dg, 5, napi_float32_array);
  ARR(db, 6, napi_float32_array);
  const int64_t d = (int64_t)g.len, rows = (int64_t)st.len / 2;
  if (d == 0 || (int64_t)st.len != 2 * rows || (int64_t)x.len != rows * d || dy.len != x.len || dx.len != x.len ||
      dg.len != g.len || db.len != g.len)
    THROW(env, "layerNormBackward: size mismatch");
  k_layernorm_backward(x.data, g.data, st.data, dy.data, dx.data, dg.data, db.data, rows, d);
  return NULL;
}

// geluForward(x, y)
static napi_value gelu_forward(napi_env env, napi_callback_info info) {
  ARGS(2);
  ARR(x, 0, napi_float32_array); ARR(y, 1, napi_float32_array);
  if (y.len != x.len) THROW(env, "geluForward: size mismatch");
  k_gelu_forward(x.data, y.data, (int64_t)x.len);
  return NULL;
}

// geluBackward(x, dy, dx)
static napi_value gelu_backward(napi_env env, napi_callback_info info) {
  ARGS(3);
  ARR(x, 0, napi_float32_array); ARR(dy, 1, napi_float32_array); ARR(dx, 2, napi_float32_array);
  if (dy.len != x.len || dx.len != x.len) THROW(env, "geluBackward: size mismatch");
  k_gelu_backward(x.data, dy.data, dx.data, (int64_t)x.len);
  return NULL;
}

// Checks a depthwise conv's x [b, t, d] and w [k, d] (k odd) against bias [d]; returns k, or 0 on a mismatch.
static int64_t dwconv_taps(const Arr *x, const Arr *w, const Arr *bias, int64_t b, int64_t t) {
  const int64_t d = (int64_t)bias->len, k = d ? (int64_t)w->len / d : 0;
  if (b < 0 || t < 0 || d == 0 || k % 2 == 0 || k * d != (int64_t)w->len || b * t * d != (int64_t)x->len) return 0;
  return k;
}

// depthwiseConv1dForward(x, w, bias, out, b, t)
static napi_value dwconv1d_forward(napi_env env, napi_callback_info info) {
  ARGS(6);
  ARR(x, 0, napi_float32_array); ARR(w, 1, napi_float32_array); ARR(bias, 2, napi_float32_array);
  ARR(o, 3, napi_float32_array);
  const int64_t b = num(env, argv[4]), t = num(env, argv[5]), k = dwconv_taps(&x, &w, &bias, b, t);
  if (k == 0 || o.len != x.len) THROW(env, "depthwiseConv1dForward: size mismatch");
  k_dwconv1d_forward(x.data, w.data, bias.data, o.data, b, t, (int64_t)bias.len, k);
  return NULL;
}

// depthwiseConv1dBackward(x, w, dy, dx, dw, dbias, b, t): dbias [d] also gives d
static napi_value dwconv1d_backward(napi_env env, napi_callback_info info) {
  ARGS(8);
  ARR(x, 0, napi_float32_array); ARR(w, 1, napi_float32_array); ARR(dy, 2, napi_float32_array);
  ARR(dx, 3, napi_float32_array); ARR(dw, 4, napi_float32_array); ARR(db, 5, napi_float32_array);
  const int64_t b = num(env, argv[6]), t = num(env, argv[7]), k = dwconv_taps(&x, &w, &db, b, t);
  if (k == 0 || dy.len != x.len || dx.len != x.len || dw.len != w.len)
    THROW(env, "depthwiseConv1dBackward: size mismatch");
  k_dwconv1d_backward(x.data, w.data, dy.data, dx.data, dw.data, db.data, b, t, (int64_t)db.len, k);
  return NULL;
}

// Attention operands: q-shaped arrays [batch*seq, dim] of equal length n, probabilities [batch, heads, seq, seq].
// Returns dim, or 0 (after throwing) when the sizes do not fit together. Divisions, not products, so that
// absurd dims cannot overflow; n fits an int for cblas.
static int64_t attention_dim(napi_env env, const Arr *const *qs, int nq, const Arr *p, int64_t batch, int64_t seq,
                             int64_t heads) {
  const int64_t n = (int64_t)qs[0]->len, plen = (int64_t)p->len;
  for (int i = 1; i < nq; i++)
    if ((int64_t)qs[i]->len != n) { napi_throw_error(env, "MAGIC_NATIVE", "attention: q, k, v and outputs differ in length"); return 0; }
  if (batch < 1 || seq < 1 || heads < 1 || n == 0 || n > INT32_MAX || n % batch != 0 || (n / batch) % seq != 0 ||
      (n / batch / seq) % heads != 0 || plen % seq != 0 || plen / seq != batch * heads * seq) {
    napi_throw_error(env, "MAGIC_NATIVE", "attention: size mismatch");
    return 0;
  }
  return n / batch / seq;
}

// attentionForward(q, k, v, ctx, p, batch, seq, heads)
static napi_value attention_forward(napi_env env, napi_callback_info info) {
  ARGS(8);
  ARR(q, 0, napi_float32_array); ARR(k, 1, napi_float32_array); ARR(v, 2, napi_float32_array);
  ARR(ctx, 3, napi_float32_array); ARR(p, 4, napi_float32_array);
  const int64_t batch = num(env, argv[5]), seq = num(env, argv[6]), heads = num(env, argv[7]);
  const Arr *qs[] = {&q, &k, &v, &ctx};
  const int64_t dim = attention_dim(env, qs, 4, &p, batch, seq, heads);
  if (dim) k_attention_forward(q.data, k.data, v.data, ctx.data, p.data, batch, seq, heads, dim);
  return NULL;
}

// attentionBackward(q, k, v, p, dctx, dq, dk, dv, batch, seq, heads)
static napi_value attention_backward(napi_env env, napi_callback_info info) {
  ARGS(11);
  ARR(q, 0, napi_float32_array); ARR(k, 1, napi_float32_array); ARR(v, 2, napi_float32_array);
  ARR(p, 3, napi_float32_array); ARR(dctx, 4, napi_float32_array); ARR(dq, 5, napi_float32_array);
  ARR(dk, 6, napi_float32_array); ARR(dv, 7, napi_float32_array);
  const int64_t batch = num(env, argv[8]), seq = num(env, argv[9]), heads = num(env, argv[10]);
  const Arr *qs[] = {&q, &k, &v, &dctx, &dq, &dk, &dv};
  const int64_t dim = attention_dim(env, qs, 7, &p, batch, seq, heads);
  if (dim && k_attention_backward(q.data, k.data, v.data, p.data, dctx.data, dq.data, dk.data, dv.data, batch, seq,
                                  heads, dim))
    THROW(env, "attentionBackward: out of memory");
  return NULL;
}

// setThreads(n): OpenBLAS thread count (the elementwise kernels are single-threaded). Returns the new count.
static napi_value set_threads(napi_env env, napi_callback_info info) {
  ARGS(1);
  const int64_t n = num(env, argv[0]);
  if (n > 0) openblas_set_num_threads((int)n);
  napi_value result;
  napi_create_int32(env, openblas_get_num_threads(), &result);
  return result;
}

static napi_value blas_config(napi_env env, napi_callback_info info) {
  napi_value result;
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &result);
  return result;
}

// sumSquares(x): sum of x[i]^2 (double accumulation).
static napi_value sum_squares(napi_env env, napi_callback_info info) {
  ARGS(1);
  ARR(x, 0, napi_float32_array);
  napi_value result;
  napi_create_double(env, k_sum_squares(x.data, (int64_t)x.len), &result);
  return result;
}

// adam(p, grad, m, v, out, lr, beta1, beta2, eps, weightDecay, c1, c2, scale): see k_adam.
static napi_value adam(napi_env env, napi_callback_info info) {
  ARGS(13);
  ARR(p, 0, napi_float32_array); ARR(g, 1, napi_float32_array); ARR(m, 2, napi_float32_array);
  ARR(v, 3, napi_float32_array); ARR(o, 4, napi_float32_array);
  if (g.len != p.len || m.len != p.len || v.len != p.len || o.len != p.len) THROW(env, "adam: size mismatch");
  float h[8];
  for (int i = 0; i < 8; i++) h[i] = (float)dbl(env, argv[5 + i]);
  k_adam(p.data, g.data, m.data, v.data, o.data, (int64_t)p.len, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  const struct { const char *name; napi_callback fn; } fns[] = {
    {"gemm", gemm}, {"binary", binary}, {"unary", unary}, {"reduce", reduce}, {"softmax", softmax},
    {"transpose", transpose}, {"gather", gather}, {"segmentSum", segment_sum},
    {"slice", slice}, {"insert", insert}, {"copyRows", copy_rows}, {"xentForward", xent_forward}, {"xentBackward", xent_backward},
    {"sumSquares", sum_squares}, {"adam", adam},
    {"layerNormForward", layer_norm_forward}, {"layerNormBackward", layer_norm_backward},
    {"geluForward", gelu_forward}, {"geluBackward", gelu_backward},
    {"depthwiseConv1dForward", dwconv1d_forward}, {"depthwiseConv1dBackward", dwconv1d_backward},
    {"setThreads", set_threads}, {"blasConfig", blas_config},
    {"attentionForward", attention_forward}, {"attentionBackward", attention_backward},
  };
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
