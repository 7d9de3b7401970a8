// N-API glue: unpacks typed arrays (zero-copy pointers into the JS heap), validates every argument and calls
// OpenBLAS or kernels.c. A bad call throws a JS Error naming the function and the argument, e.g.
// "gemm: argument 5 (M) must be an integer in [0, 2147483647], got -3", before any memory is touched: types,
// integral and in-range numbers, non-negative dims, op codes, and sizes that fit the buffers, with products
// computed overflow-safe. Validation costs O(number of arguments + rank + batch offsets), never O(elements).
// The JS side (lib/native) shapes every call; nothing here allocates JS memory.
#include <node_api.h>
#include <cblas.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fused.h"
#include "kernels.h"
#include "optim.h"
#include "attention.h"
#include "conv.h"

#define MAX_ARGS 13
// Dims and counts up to 2^53, the largest range in which JS numbers are exact integers.
#define DIM_MAX (INT64_C(1) << 53)

// One call's arguments, with the function's name for error messages.
typedef struct { napi_env env; const char *fn; napi_value argv[MAX_ARGS]; } Args;
// A typed-array argument: its data, its length in elements, and where it came from (for error messages).
typedef struct { void *data; int64_t len; int arg; const char *name; } Arr;

// Throws "fn: <message>".
__attribute__((format(printf, 2, 3))) static void throwf(const Args *a, const char *fmt, ...) {
  char msg[400];
  const int n = snprintf(msg, sizeof msg, "%s: ", a->fn);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  napi_throw_error(a->env, "MAGIC_NATIVE", msg);
}

// Validators return 1, or 0 after throwing: `return FAIL(...)`, an expression the compiler sees is 0 (so it
// knows that the outputs of a failed validator are never read).
#define FAIL(a, ...) (throwf(a, __VA_ARGS__), 0)
// In an entry point: return (undefined, the Error pending) unless a validation passed; or throw and return.
#define TRY(ok) do { if (!(ok)) return NULL; } while (0)
#define THROW(a, ...) do { throwf(a, __VA_ARGS__); return NULL; } while (0)

static const char *const ARRAY_TYPES[] = {"Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
                                          "Int32Array", "Uint32Array", "Float32Array", "Float64Array",
                                          "BigInt64Array", "BigUint64Array"};
static const char *const VALUE_TYPES[] = {"undefined", "null", "boolean", "number", "string", "symbol", "object",
                                          "function", "external", "bigint"};

// What a rejected argument was, for the "got ..." of a message: a number's value, a typed array's type, or
// the JS type.
static void describe(napi_env env, napi_value v, char *buf, size_t size) {
  napi_valuetype t;
  double d;
  bool is = false;
  napi_typedarray_type at;
  if (napi_get_value_double(env, v, &d) == napi_ok) {
    if (isnan(d)) snprintf(buf, size, "NaN");
    else if (isinf(d)) snprintf(buf, size, d > 0 ? "Infinity" : "-Infinity");
    else snprintf(buf, size, "%.17g", d);
  } else if (napi_is_typedarray(env, v, &is) == napi_ok && is &&
             napi_get_typedarray_info(env, v, &at, NULL, NULL, NULL, NULL) == napi_ok) {
    snprintf(buf, size, "%s", (size_t)at < sizeof ARRAY_TYPES / sizeof *ARRAY_TYPES ? ARRAY_TYPES[at] : "a typed array");
  } else if (napi_typeof(env, v, &t) == napi_ok && (size_t)t < sizeof VALUE_TYPES / sizeof *VALUE_TYPES) {
    snprintf(buf, size, "%s", VALUE_TYPES[t]);
  } else {
    snprintf(buf, size, "an unknown value");
  }
}

// Reads exactly n arguments: a missing one would be undefined, an extra one a sign of a mismatched caller.
static int get_args(napi_env env, napi_callback_info info, const char *fn, size_t n, Args *a) {
  a->env = env;
  a->fn = fn;
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, a->argv, NULL, NULL) != napi_ok) return FAIL(a, "cannot read the arguments");
  if (argc != n) return FAIL(a, "expected %zu arguments, got %zu", n, argc);
  return 1;
}

static int get_arr(const Args *a, int i, const char *name, napi_typedarray_type want, Arr *out) {
  napi_typedarray_type type;
  size_t len;
  void *data;
  bool is = false;
  if (napi_is_typedarray(a->env, a->argv[i], &is) != napi_ok || !is ||
      napi_get_typedarray_info(a->env, a->argv[i], &type, &len, &data, NULL, NULL) != napi_ok || type != want) {
    char got[48];
    describe(a->env, a->argv[i], got, sizeof got);
    return FAIL(a, "argument %d (%s) must be a %s, got %s", i, name, ARRAY_TYPES[want], got);
  }
  *out = (Arr){data, (int64_t)len, i, name};
  return 1;
}

static int f32(const Args *a, int i, const char *name, Arr *out) { return get_arr(a, i, name, napi_float32_array, out); }
static int i32(const Args *a, int i, const char *name, Arr *out) { return get_arr(a, i, name, napi_int32_array, out); }

// Integer argument in [lo, hi]. JS numbers are doubles: NaN, infinities, fractions and out-of-range values are
// refused, not cast (casting them to an integer type is undefined behaviour in C).
static int get_int(const Args *a, int i, const char *name, int64_t lo, int64_t hi, int64_t *out) {
  double d;
  if (napi_get_value_double(a->env, a->argv[i], &d) == napi_ok && d >= (double)lo && d <= (double)hi && d == floor(d)) {
    *out = (int64_t)d;
    return 1;
  }
  char got[48];
  describe(a->env, a->argv[i], got, sizeof got);
  if (hi == DIM_MAX && lo <= 1)
    return FAIL(a, "argument %d (%s) must be a %s integer, got %s", i, name, lo ? "positive" : "non-negative", got);
  return FAIL(a, "argument %d (%s) must be an integer in [%lld, %lld], got %s", i, name, (long long)lo, (long long)hi,
              got);
}

// A size or count (tensor dims, rows...): a non-negative integer.
static int get_dim(const Args *a, int i, const char *name, int64_t *out) { return get_int(a, i, name, 0, DIM_MAX, out); }

// A float hyper-parameter. NaN and infinities pass: they are values, not sizes, and propagate as in the JS
// fallbacks (an Adam step with a NaN gradient-clipping scale gives NaN weights on every backend).
static int get_f64(const Args *a, int i, const char *name, double *out) {
  if (napi_get_value_double(a->env, a->argv[i], out) == napi_ok) return 1;
  char got[48];
  describe(a->env, a->argv[i], got, sizeof got);
  return FAIL(a, "argument %d (%s) must be a number, got %s", i, name, got);
}

static int get_bool(const Args *a, int i, const char *name, int *out) {
  bool b;
  if (napi_get_value_bool(a->env, a->argv[i], &b) == napi_ok) {
    *out = b;
    return 1;
  }
  char got[48];
  describe(a->env, a->argv[i], got, sizeof got);
  return FAIL(a, "argument %d (%s) must be a boolean, got %s", i, name, got);
}

static int is_null(const Args *a, int i) {
  napi_valuetype t;
  return napi_typeof(a->env, a->argv[i], &t) == napi_ok && (t == napi_null || t == napi_undefined);
}

// x * y for sizes: 0 when either is 0 (also after an overflow: the true product is 0), else -1 when either is
// -1 (an earlier overflow) or the product overflows, so that an overflowed product never equals a length.
static int64_t mul(int64_t x, int64_t y) {
  int64_t r;
  if (x == 0 || y == 0) return 0;
  return x < 0 || y < 0 || __builtin_mul_overflow(x, y, &r) ? -1 : r;
}

// Throws unless x has `want` elements; `what` says where want comes from ("outer*r*inner", "x's length").
static int has_len(const Args *a, const Arr *x, int64_t want, const char *what) {
  if (x->len == want) return 1;
  if (want < 0)
    return FAIL(a, "argument %d (%s) has %lld elements, but %s overflows", x->arg, x->name, (long long)x->len, what);
  return FAIL(a, "argument %d (%s) has %lld elements, expected %lld (%s)", x->arg, x->name, (long long)x->len,
              (long long)want, what);
}

// x[rows, cols] with rows = rows_of->len >= 1: returns cols, or 0 after throwing when x is not such a matrix.
static int64_t cols_of(const Args *a, const Arr *x, const Arr *rows_of) {
  if (rows_of->len == 0) return FAIL(a, "argument %d (%s) is empty", rows_of->arg, rows_of->name);
  const int64_t cols = x->len / rows_of->len;
  if (cols == 0 || cols * rows_of->len != x->len)
    return FAIL(a, "argument %d (%s) has %lld elements, not a positive multiple of %lld (%s's length)", x->arg,
                x->name, (long long)x->len, (long long)rows_of->len, rows_of->name);
  return cols;
}

// Per-dim int32 arrays (shape, strides, begin...): `shape` sets the rank, in [min_rank, MAX_RANK].
static int check_rank(const Args *a, const Arr *shape, int64_t min_rank) {
  if (shape->len >= min_rank && shape->len <= MAX_RANK) return 1;
  return FAIL(a, "argument %d (%s) has %lld elements, expected a rank in [%lld, %d]", shape->arg, shape->name,
              (long long)shape->len, (long long)min_rank, MAX_RANK);
}

static int non_negative(const Args *a, const Arr *v) {
  const int32_t *x = v->data;
  for (int64_t d = 0; d < v->len; d++)
    if (x[d] < 0) return FAIL(a, "argument %d (%s): %s[%lld] = %d is negative", v->arg, v->name, v->name, (long long)d, x[d]);
  return 1;
}

// Number of elements of a (non-negative) shape; -1 when it overflows.
static int64_t product(const Arr *shape) {
  const int32_t *s = shape->data;
  int64_t n = 1;
  for (int64_t d = 0; d < shape->len; d++) n = mul(n, s[d]);
  return n;
}

// Each offset of `offs` must start a whole block of `block` elements (M*K of a, K*N of b) inside x.
static int blocks_fit(const Args *a, const Arr *offs, const Arr *x, int64_t block, const char *what) {
  const int32_t *o = offs->data;
  for (int64_t i = 0; i < offs->len; i++)
    if (o[i] < 0 || o[i] + block > x->len) // block <= INT_MAX^2: no overflow
      return FAIL(a, "argument %d (%s): %s[%lld] = %d, and a block of %s = %lld elements there does not fit in %s "
                  "(%lld elements)", offs->arg, offs->name, offs->name, (long long)i, o[i], what, (long long)block,
                  x->name, (long long)x->len);
  return 1;
}

// gemm(a, b, c, offsA, offsB, M, N, K, transA, transB, bias|null, relu): for each batch i,
// c[i] = act(op(a[offsA[i]]) @ op(b[offsB[i]]) + bias), c[i] being the i-th [M, N] block of c.
static napi_value gemm(napi_env env, napi_callback_info info) {
  Args a;
  Arr A, B, C, oa, ob, bias = {NULL, 0, 10, "bias"};
  int64_t M, N, K;
  int ta, tb, relu;
  TRY(get_args(env, info, "gemm", 12, &a));
  TRY(f32(&a, 0, "a", &A) && f32(&a, 1, "b", &B) && f32(&a, 2, "c", &C) && i32(&a, 3, "offsA", &oa) &&
      i32(&a, 4, "offsB", &ob));
  // cblas takes int dims, and the leading dimensions (M, N or K here) are ints too.
  TRY(get_int(&a, 5, "M", 0, INT_MAX, &M) && get_int(&a, 6, "N", 0, INT_MAX, &N) && get_int(&a, 7, "K", 0, INT_MAX, &K));
  TRY(get_bool(&a, 8, "transA", &ta) && get_bool(&a, 9, "transB", &tb) && get_bool(&a, 11, "relu", &relu));
  if (!is_null(&a, 10)) {
    TRY(f32(&a, 10, "bias", &bias));
    if (bias.len != N && bias.len != 1)
      THROW(&a, "argument 10 (bias) has %lld elements, expected N = %lld or 1", (long long)bias.len, (long long)N);
  }
  const int64_t batch = oa.len;
  TRY(has_len(&a, &ob, batch, "offsA's length") && has_len(&a, &C, mul(mul(batch, M), N), "batch*M*N"));
  TRY(blocks_fit(&a, &oa, &A, M * K, "M*K") && blocks_fit(&a, &ob, &B, K * N, "K*N"));
  float *c = C.data;
  if (M == 0 || N == 0) return NULL; // nothing to write; cblas would reject the zero leading dimensions
  const int32_t *offA = oa.data, *offB = ob.data;
  const float *bv = bias.data;
  for (int64_t i = 0; i < batch; i++) {
    float *ci = c + i * M * N;
    // The bias is written first and accumulated by sgemm (beta = 1): one pass fewer over c.
    if (bv)
      for (int64_t r = 0; r < M; r++)
        for (int64_t j = 0; j < N; j++) ci[r * N + j] = bv[bias.len == 1 ? 0 : j];
    if (K == 0) { if (!bv) memset(ci, 0, sizeof(float) * M * N); continue; }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)M, (int)N, (int)K, 1.f, (const float *)A.data + offA[i], ta ? (int)M : (int)K,
                (const float *)B.data + offB[i], tb ? (int)K : (int)N, bv ? 1.f : 0.f, ci, (int)N);
  }
  if (relu) k_unary(OP_RELU, c, c, batch * M * N, 0.f);
  return NULL;
}

// A strided walk over `shape` (no zero dim) must stay inside x: strides non-negative (there is no base offset
// to walk back from), the innermost one 0 or 1 (k_binary's rows are contiguous or broadcast), and the largest
// offset reached below x's length.
static int strides_fit(const Args *a, const Arr *strides, const Arr *x, const Arr *shape) {
  const int32_t *s = strides->data, *n = shape->data;
  const int64_t last = shape->len - 1;
  int64_t reach = 0;
  for (int64_t d = 0; d <= last; d++) {
    if (s[d] < 0 || (d == last && s[d] > 1))
      return FAIL(a, "argument %d (%s): %s[%lld] = %d must be %s", strides->arg, strides->name, strides->name,
                  (long long)d, s[d], d == last ? "0 or 1 (the innermost dim is contiguous or broadcast)" : "non-negative");
    // Each term is below 2^62; the sum of up to MAX_RANK of them may not fit.
    if (__builtin_add_overflow(reach, (int64_t)(n[d] - 1) * s[d], &reach)) reach = INT64_MAX;
  }
  if (reach < x->len) return 1;
  return FAIL(a, "argument %d (%s) has %lld elements, but its strides reach element %lld", x->arg, x->name,
              (long long)x->len, (long long)reach);
}

// binary(op, a, aStrides, b, bStrides, out, shape)
static napi_value binary(napi_env env, napi_callback_info info) {
  Args a;
  Arr A, as, B, bs, O, sh;
  int64_t op;
  TRY(get_args(env, info, "binary", 7, &a));
  TRY(get_int(&a, 0, "op", 0, OP_SQDIFF, &op) && f32(&a, 1, "a", &A) && i32(&a, 2, "aStrides", &as) &&
      f32(&a, 3, "b", &B) && i32(&a, 4, "bStrides", &bs) && f32(&a, 5, "out", &O) && i32(&a, 6, "shape", &sh));
  TRY(check_rank(&a, &sh, 0) && has_len(&a, &as, sh.len, "shape's length") && has_len(&a, &bs, sh.len, "shape's length"));
  TRY(non_negative(&a, &sh) && has_len(&a, &O, product(&sh), "the product of shape"));
  if (O.len == 0) return NULL;
  TRY(strides_fit(&a, &as, &A, &sh) && strides_fit(&a, &bs, &B, &sh));
  k_binary((int)op, A.data, as.data, B.data, bs.data, O.data, sh.data, (int)sh.len);
  return NULL;
}

// unary(op, x, out, alpha)
static napi_value unary(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, O;
  int64_t op;
  double alpha;
  TRY(get_args(env, info, "unary", 4, &a));
  TRY(get_int(&a, 0, "op", 0, OP_ERF, &op) && f32(&a, 1, "x", &X) && f32(&a, 2, "out", &O) &&
      get_f64(&a, 3, "alpha", &alpha));
  TRY(has_len(&a, &O, X.len, "x's length"));
  k_unary((int)op, X.data, O.data, X.len, (float)alpha);
  return NULL;
}

// reduce(op, x, out, outer, r, inner)
static napi_value reduce(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, O;
  int64_t op, outer, r, inner;
  TRY(get_args(env, info, "reduce", 6, &a));
  TRY(get_int(&a, 0, "op", 0, RED_MIN, &op) && f32(&a, 1, "x", &X) && f32(&a, 2, "out", &O) &&
      get_dim(&a, 3, "outer", &outer) && get_int(&a, 4, "r", 1, DIM_MAX, &r) && get_dim(&a, 5, "inner", &inner));
  TRY(has_len(&a, &X, mul(mul(outer, r), inner), "outer*r*inner") && has_len(&a, &O, mul(outer, inner), "outer*inner"));
  if (k_reduce((int)op, X.data, O.data, outer, r, inner)) throwf(&a, "out of memory");
  return NULL;
}

// softmax(x, out, rows, cols)
static napi_value softmax(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, O;
  int64_t rows, cols;
  TRY(get_args(env, info, "softmax", 4, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "out", &O) && get_dim(&a, 2, "rows", &rows) &&
      get_int(&a, 3, "cols", 1, DIM_MAX, &cols));
  TRY(has_len(&a, &X, mul(rows, cols), "rows*cols") && has_len(&a, &O, X.len, "x's length"));
  k_softmax(X.data, O.data, rows, cols);
  return NULL;
}

static int is_perm(const Args *a, const Arr *perm) {
  const int32_t *p = perm->data;
  unsigned seen = 0;
  for (int64_t d = 0; d < perm->len; d++) {
    if (p[d] < 0 || p[d] >= perm->len || (seen >> p[d]) & 1)
      return FAIL(a, "argument %d (%s): %s[%lld] = %d, but a permutation holds each of 0..%lld once", perm->arg,
                  perm->name, perm->name, (long long)d, p[d], (long long)perm->len - 1);
    seen |= 1u << p[d];
  }
  return 1;
}

// transpose(x, out, shape, perm)
static napi_value transpose(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, O, sh, pe;
  TRY(get_args(env, info, "transpose", 4, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "out", &O) && i32(&a, 2, "shape", &sh) && i32(&a, 3, "perm", &pe));
  TRY(check_rank(&a, &sh, 1) && has_len(&a, &pe, sh.len, "shape's length") && non_negative(&a, &sh) && is_perm(&a, &pe));
  TRY(has_len(&a, &X, product(&sh), "the product of shape") && has_len(&a, &O, X.len, "x's length"));
  if (X.len > 0) k_transpose(X.data, O.data, sh.data, pe.data, (int)sh.len);
  return NULL;
}

// slice(x, out, shape, begin, size) copies the box of x (shape) into out; insert(x, out, shape, begin, size)
// writes x (shape `size`) into the box of out (shape): the same walk, used by Slice and PadV2.
static napi_value box(napi_env env, napi_callback_info info, const char *fn, int to_box) {
  Args a;
  Arr X, O, sh, be, sz;
  TRY(get_args(env, info, fn, 5, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "out", &O) && i32(&a, 2, "shape", &sh) && i32(&a, 3, "begin", &be) &&
      i32(&a, 4, "size", &sz));
  TRY(check_rank(&a, &sh, 1) && has_len(&a, &be, sh.len, "shape's length") && has_len(&a, &sz, sh.len, "shape's length"));
  TRY(non_negative(&a, &sh) && non_negative(&a, &be) && non_negative(&a, &sz));
  const int32_t *s = sh.data, *b = be.data, *z = sz.data;
  for (int64_t d = 0; d < sh.len; d++)
    if ((int64_t)b[d] + z[d] > s[d]) // in int64: the int32 sum can overflow
      THROW(&a, "begin[%lld]+size[%lld] = %lld exceeds shape[%lld] = %d", (long long)d, (long long)d,
            (long long)b[d] + z[d], (long long)d, s[d]);
  const Arr *big = to_box ? &X : &O, *boxed = to_box ? &O : &X;
  TRY(has_len(&a, big, product(&sh), "the product of shape") && has_len(&a, boxed, product(&sz), "the product of size"));
  if (boxed->len == 0) return NULL;
  if (to_box) k_slice(X.data, O.data, s, b, z, (int)sh.len);
  else k_insert(X.data, O.data, s, b, z, (int)sh.len);
  return NULL;
}

static napi_value slice(napi_env env, napi_callback_info info) { return box(env, info, "slice", 1); }
static napi_value insert(napi_env env, napi_callback_info info) { return box(env, info, "insert", 0); }

// copyRows(src, dst, dstOffset, dstStride, rows): src is [rows, width] with width = src.length / rows.
static napi_value copy_rows(napi_env env, napi_callback_info info) {
  Args a;
  Arr S, D;
  int64_t off, stride, rows;
  TRY(get_args(env, info, "copyRows", 5, &a));
  TRY(f32(&a, 0, "src", &S) && f32(&a, 1, "dst", &D) && get_dim(&a, 2, "dstOffset", &off) &&
      get_dim(&a, 3, "dstStride", &stride) && get_dim(&a, 4, "rows", &rows));
  if (rows == 0) {
    has_len(&a, &S, 0, "no rows"); // nothing to copy
    return NULL;
  }
  const int64_t width = S.len / rows, need = mul(rows, stride);
  if (width * rows != S.len)
    THROW(&a, "argument 0 (src) has %lld elements, not a multiple of rows = %lld", (long long)S.len, (long long)rows);
  if (off + width > stride) // both <= 2^53: no overflow
    THROW(&a, "dstOffset + width = %lld exceeds dstStride = %lld", (long long)(off + width), (long long)stride);
  if (need < 0 || need > D.len)
    THROW(&a, "argument 1 (dst) has %lld elements, fewer than rows*dstStride", (long long)D.len);
  k_copy_rows(S.data, D.data, off, stride, rows, width);
  return NULL;
}

// gather(x, indices, out, outer, n, inner) -> -1, or the position of the first out-of-range index
static napi_value gather(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, ix, O;
  int64_t outer, n, inner;
  TRY(get_args(env, info, "gather", 6, &a));
  TRY(f32(&a, 0, "x", &X) && i32(&a, 1, "indices", &ix) && f32(&a, 2, "out", &O) && get_dim(&a, 3, "outer", &outer) &&
      get_dim(&a, 4, "n", &n) && get_dim(&a, 5, "inner", &inner));
  TRY(has_len(&a, &X, mul(mul(outer, n), inner), "outer*n*inner") &&
      has_len(&a, &O, mul(mul(outer, ix.len), inner), "outer*indices.length*inner"));
  napi_value result;
  napi_create_int64(env, k_gather(X.data, ix.data, O.data, outer, n, inner, ix.len), &result);
  return result;
}

// segmentSum(x, ids, out, segments): x [rows, inner] with rows = ids.length; out [segments, inner], zero-filled.
static napi_value segment_sum(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, ids, O;
  int64_t segments;
  TRY(get_args(env, info, "segmentSum", 4, &a));
  TRY(f32(&a, 0, "x", &X) && i32(&a, 1, "ids", &ids) && f32(&a, 2, "out", &O) && get_dim(&a, 3, "segments", &segments));
  if (ids.len == 0) {
    has_len(&a, &X, 0, "no ids, no rows"); // nothing to add to the zero-filled out
    return NULL;
  }
  const int64_t inner = X.len / ids.len;
  if (inner * ids.len != X.len)
    THROW(&a, "argument 0 (x) has %lld elements, not a multiple of %lld (ids' length)", (long long)X.len,
          (long long)ids.len);
  TRY(has_len(&a, &O, mul(segments, inner), "segments*inner"));
  k_segment_sum(X.data, ids.data, O.data, ids.len, inner, segments);
  return NULL;
}

// xentForward(logits, labels, loss, lse): logits [rows, cols], labels/loss/lse [rows]
static napi_value xent_forward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, Y, L, S;
  TRY(get_args(env, info, "xentForward", 4, &a));
  TRY(f32(&a, 0, "logits", &X) && i32(&a, 1, "labels", &Y) && f32(&a, 2, "loss", &L) && f32(&a, 3, "lse", &S));
  const int64_t cols = cols_of(&a, &X, &Y);
  TRY(cols && has_len(&a, &L, Y.len, "labels' length") && has_len(&a, &S, Y.len, "labels' length"));
  k_xent_forward(X.data, Y.data, L.data, S.data, Y.len, cols);
  return NULL;
}

// xentBackward(logits, labels, lse, dy, out)
static napi_value xent_backward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, Y, S, dY, O;
  TRY(get_args(env, info, "xentBackward", 5, &a));
  TRY(f32(&a, 0, "logits", &X) && i32(&a, 1, "labels", &Y) && f32(&a, 2, "lse", &S) && f32(&a, 3, "dy", &dY) &&
      f32(&a, 4, "out", &O));
  const int64_t cols = cols_of(&a, &X, &Y);
  TRY(cols && has_len(&a, &S, Y.len, "labels' length") && has_len(&a, &dY, Y.len, "labels' length") &&
      has_len(&a, &O, X.len, "logits' length"));
  k_xent_backward(X.data, Y.data, S.data, dY.data, O.data, Y.len, cols);
  return NULL;
}

// Fused LayerNorm / GELU / depthwise conv (fused.c); sizes are implied by the arrays and checked against each other.
// LayerNorm's x [rows, d]: d = gamma's length, rows from stats [rows, 2].
static int layer_norm_rows(const Args *a, const Arr *x, const Arr *gamma, const Arr *stats, int64_t *rows) {
  if (gamma->len == 0) return FAIL(a, "argument %d (gamma) is empty", gamma->arg);
  if (stats->len % 2)
    return FAIL(a, "argument %d (stats) has %lld elements, expected an even number ([rows, 2])", stats->arg,
                (long long)stats->len);
  *rows = stats->len / 2;
  return has_len(a, x, mul(*rows, gamma->len), "rows*d, rows = stats.length/2, d = gamma.length");
}

// layerNormForward(x, gamma, beta, eps, y, stats): x, y [rows, d]; gamma, beta [d]; stats [rows, 2]
static napi_value layer_norm_forward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, G, B, Y, St;
  double eps;
  TRY(get_args(env, info, "layerNormForward", 6, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "gamma", &G) && f32(&a, 2, "beta", &B) && get_f64(&a, 3, "eps", &eps) &&
      f32(&a, 4, "y", &Y) && f32(&a, 5, "stats", &St));
  int64_t rows;
  TRY(layer_norm_rows(&a, &X, &G, &St, &rows) && has_len(&a, &B, G.len, "gamma's length") &&
      has_len(&a, &Y, X.len, "x's length"));
  k_layernorm_forward(X.data, G.data, B.data, (float)eps, Y.data, St.data, rows, G.len);
  return NULL;
}

// layerNormBackward(x, gamma, stats, dy, dx, dgamma, dbeta)
static napi_value layer_norm_backward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, G, St, dY, dX, dG, dB;
  TRY(get_args(env, info, "layerNormBackward", 7, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "gamma", &G) && f32(&a, 2, "stats", &St) && f32(&a, 3, "dy", &dY) &&
      f32(&a, 4, "dx", &dX) && f32(&a, 5, "dgamma", &dG) && f32(&a, 6, "dbeta", &dB));
  int64_t rows;
  TRY(layer_norm_rows(&a, &X, &G, &St, &rows) && has_len(&a, &dY, X.len, "x's length") && has_len(&a, &dX, X.len, "x's length") &&
      has_len(&a, &dG, G.len, "gamma's length") && has_len(&a, &dB, G.len, "gamma's length"));
  k_layernorm_backward(X.data, G.data, St.data, dY.data, dX.data, dG.data, dB.data, rows, G.len);
  return NULL;
}

// geluForward(x, y)
static napi_value gelu_forward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, Y;
  TRY(get_args(env, info, "geluForward", 2, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "y", &Y) && has_len(&a, &Y, X.len, "x's length"));
  k_gelu_forward(X.data, Y.data, X.len);
  return NULL;
}

// geluBackward(x, dy, dx)
static napi_value gelu_backward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, dY, dX;
  TRY(get_args(env, info, "geluBackward", 3, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "dy", &dY) && f32(&a, 2, "dx", &dX) && has_len(&a, &dY, X.len, "x's length") &&
      has_len(&a, &dX, X.len, "x's length"));
  k_gelu_backward(X.data, dY.data, dX.data, X.len);
  return NULL;
}

// A depthwise conv's x [b, t, d] and w [k, d] (k odd) with d = bias' length: returns k, or 0 after throwing.
static int64_t dwconv_taps(const Args *a, const Arr *x, const Arr *w, const Arr *bias, int64_t b, int64_t t) {
  const int64_t d = bias->len, k = d ? w->len / d : 0;
  if (d == 0) return FAIL(a, "argument %d (%s) is empty", bias->arg, bias->name);
  if (k % 2 == 0 || k * d != w->len)
    return FAIL(a, "argument %d (w) has %lld elements, expected k*d with k odd and d = %lld (%s's length)", w->arg,
                (long long)w->len, (long long)d, bias->name);
  return has_len(a, x, mul(mul(b, t), d), "b*t*d") ? k : 0;
}

// depthwiseConv1dForward(x, w, bias, out, b, t)
static napi_value dwconv1d_forward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, W, Bi, O;
  int64_t b, t;
  TRY(get_args(env, info, "depthwiseConv1dForward", 6, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "w", &W) && f32(&a, 2, "bias", &Bi) && f32(&a, 3, "out", &O) &&
      get_dim(&a, 4, "b", &b) && get_dim(&a, 5, "t", &t));
  const int64_t k = dwconv_taps(&a, &X, &W, &Bi, b, t);
  TRY(k && has_len(&a, &O, X.len, "x's length"));
  k_dwconv1d_forward(X.data, W.data, Bi.data, O.data, b, t, Bi.len, k);
  return NULL;
}

// depthwiseConv1dBackward(x, w, dy, dx, dw, dbias, b, t): dbias [d] also gives d
static napi_value dwconv1d_backward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, W, dY, dX, dW, dB;
  int64_t b, t;
  TRY(get_args(env, info, "depthwiseConv1dBackward", 8, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "w", &W) && f32(&a, 2, "dy", &dY) && f32(&a, 3, "dx", &dX) &&
      f32(&a, 4, "dw", &dW) && f32(&a, 5, "dbias", &dB) && get_dim(&a, 6, "b", &b) && get_dim(&a, 7, "t", &t));
  const int64_t k = dwconv_taps(&a, &X, &W, &dB, b, t);
  TRY(k && has_len(&a, &dY, X.len, "x's length") && has_len(&a, &dX, X.len, "x's length") &&
      has_len(&a, &dW, W.len, "w's length"));
  k_dwconv1d_backward(X.data, W.data, dY.data, dX.data, dW.data, dB.data, b, t, dB.len, k);
  return NULL;
}

// Attention operands: q-shaped arrays [batch*seq, dim] of one length n, probabilities [batch, heads, seq, seq].
// Returns dim, or 0 after throwing. n must fit an int for cblas (dim and seq, its leading dimensions, then do).
static int64_t attention_dim(const Args *a, const Arr *const *qs, int nq, const Arr *p, int64_t batch, int64_t seq,
                             int64_t heads) {
  const Arr *q = qs[0];
  for (int i = 1; i < nq; i++)
    if (!has_len(a, qs[i], q->len, "q's length")) return 0;
  const int64_t rows = mul(batch, seq);
  if (q->len == 0 || q->len > INT_MAX || rows < 0 || q->len % rows != 0 || (q->len / rows) % heads != 0)
    return FAIL(a, "argument 0 (q) has %lld elements, expected batch*seq*dim (batch = %lld, seq = %lld) in [1, %d] "
                "with dim a multiple of heads = %lld", (long long)q->len, (long long)batch, (long long)seq, INT_MAX,
                (long long)heads);
  return has_len(a, p, mul(mul(rows, heads), seq), "batch*heads*seq*seq") ? q->len / rows : 0;
}

// attentionForward(q, k, v, ctx, p, batch, seq, heads)
static napi_value attention_forward(napi_env env, napi_callback_info info) {
  Args a;
  Arr q, k, v, ctx, p;
  int64_t batch, seq, heads;
  TRY(get_args(env, info, "attentionForward", 8, &a));
  TRY(f32(&a, 0, "q", &q) && f32(&a, 1, "k", &k) && f32(&a, 2, "v", &v) && f32(&a, 3, "ctx", &ctx) &&
      f32(&a, 4, "p", &p) && get_int(&a, 5, "batch", 1, DIM_MAX, &batch) && get_int(&a, 6, "seq", 1, DIM_MAX, &seq) &&
      get_int(&a, 7, "heads", 1, DIM_MAX, &heads));
  const Arr *qs[] = {&q, &k, &v, &ctx};
  const int64_t dim = attention_dim(&a, qs, 4, &p, batch, seq, heads);
  if (dim) k_attention_forward(q.data, k.data, v.data, NULL, ctx.data, p.data, batch, seq, heads, dim);
  return NULL;
}

// attentionForwardMasked(q, k, v, kbias, ctx, p, batch, seq, heads): kbias [batch*seq] added to the scores of
// every query row of its sequence (0 at real tokens, -1e9 at padding).
static napi_value attention_forward_masked(napi_env env, napi_callback_info info) {
  Args a;
  Arr q, k, v, kb, ctx, p;
  int64_t batch, seq, heads;
  TRY(get_args(env, info, "attentionForwardMasked", 9, &a));
  TRY(f32(&a, 0, "q", &q) && f32(&a, 1, "k", &k) && f32(&a, 2, "v", &v) && f32(&a, 3, "kbias", &kb) &&
      f32(&a, 4, "ctx", &ctx) && f32(&a, 5, "p", &p) && get_int(&a, 6, "batch", 1, DIM_MAX, &batch) &&
      get_int(&a, 7, "seq", 1, DIM_MAX, &seq) && get_int(&a, 8, "heads", 1, DIM_MAX, &heads));
  const Arr *qs[] = {&q, &k, &v, &ctx};
  const int64_t dim = attention_dim(&a, qs, 4, &p, batch, seq, heads);
  TRY(dim && has_len(&a, &kb, mul(batch, seq), "batch*seq"));
  k_attention_forward(q.data, k.data, v.data, kb.data, ctx.data, p.data, batch, seq, heads, dim);
  return NULL;
}

// attentionBackward(q, k, v, p, dctx, dq, dk, dv, batch, seq, heads)
static napi_value attention_backward(napi_env env, napi_callback_info info) {
  Args a;
  Arr q, k, v, p, dctx, dq, dk, dv;
  int64_t batch, seq, heads;
  TRY(get_args(env, info, "attentionBackward", 11, &a));
  TRY(f32(&a, 0, "q", &q) && f32(&a, 1, "k", &k) && f32(&a, 2, "v", &v) && f32(&a, 3, "p", &p) &&
      f32(&a, 4, "dctx", &dctx) && f32(&a, 5, "dq", &dq) && f32(&a, 6, "dk", &dk) && f32(&a, 7, "dv", &dv) &&
      get_int(&a, 8, "batch", 1, DIM_MAX, &batch) && get_int(&a, 9, "seq", 1, DIM_MAX, &seq) &&
      get_int(&a, 10, "heads", 1, DIM_MAX, &heads));
  const Arr *qs[] = {&q, &k, &v, &dctx, &dq, &dk, &dv};
  const int64_t dim = attention_dim(&a, qs, 7, &p, batch, seq, heads);
  if (dim && k_attention_backward(q.data, k.data, v.data, p.data, dctx.data, dq.data, dk.data, dv.data, batch, seq,
                                  heads, dim))
    throwf(&a, "out of memory");
  return NULL;
}

// Convolutions (conv.c). geom is an Int32Array of the ConvGeom fields in order; the array sizes follow from it.
static const char *const GEOM_FIELDS[CONV_GEOM_LEN] = {"n", "h", "w", "cin", "kh", "kw", "cout", "oh", "ow",
                                                       "sh", "sw", "pt", "pl"};

// Reads geom (argument i) into g and checks the three arrays against it: x [n, h, w, cin], the filter
// [kh, kw, cin, cout] (depthwise: [kh, kw, cin, 1] with cout = cin) and y [n, oh, ow, cout]. Every size, and
// one image's im2col block, must fit an int (cblas dims).
static int conv_geom(const Args *a, int i, int depthwise, const Arr *x, const Arr *filter, const Arr *y, ConvGeom *g) {
  Arr G;
  if (!i32(a, i, "geom", &G) || !has_len(a, &G, CONV_GEOM_LEN, "the 13 ConvGeom fields")) return 0;
  const int32_t *v = G.data;
  int64_t f[CONV_GEOM_LEN];
  for (int k = 0; k < CONV_GEOM_LEN; k++) {
    const int pad = k >= 11;
    if (v[k] < (pad ? 0 : 1))
      return FAIL(a, "argument %d (geom): geom[%d] (%s) = %d must be %s", i, k, GEOM_FIELDS[k], v[k],
                  pad ? "non-negative" : "positive");
    f[k] = v[k];
  }
  *g = (ConvGeom){f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12]};
  if (depthwise && g->cout != g->cin)
    return FAIL(a, "argument %d (geom): cout = %lld must equal cin = %lld (depthwise, channel multiplier 1)", i,
                (long long)g->cout, (long long)g->cin);
  const int64_t block = mul(mul(g->oh * g->ow, g->kh * g->kw), g->cin); // each factor < 2^31: no overflow inside
  if (block < 0 || block > INT_MAX)
    return FAIL(a, "argument %d (geom): oh*ow*kh*kw*cin = %lld exceeds %d (one image's im2col block)", i,
                (long long)block, INT_MAX);
  if (!has_len(a, x, mul(mul(mul(g->n, g->h), g->w), g->cin), "n*h*w*cin") ||
      !has_len(a, filter, mul(mul(mul(g->kh, g->kw), g->cin), depthwise ? 1 : g->cout), depthwise ? "kh*kw*cin" : "kh*kw*cin*cout") ||
      !has_len(a, y, mul(mul(mul(g->n, g->oh), g->ow), g->cout), "n*oh*ow*cout"))
    return 0;
  const Arr *arrs[] = {x, filter, y};
  for (int k = 0; k < 3; k++)
    if (arrs[k]->len > INT_MAX)
      return FAIL(a, "argument %d (%s) has %lld elements, more than %d", arrs[k]->arg, arrs[k]->name,
                  (long long)arrs[k]->len, INT_MAX);
  return 1;
}

enum ConvOp { CONV_FORWARD, CONV_INPUT, CONV_FILTER };

// One entry point per (dense | depthwise) x (forward | backprop input | backprop filter), all (a, b, out, geom):
// forward (x, filter, out), backprop input (dy, filter, dx), backprop filter (x, dy, dfilter).
static napi_value conv(napi_env env, napi_callback_info info, const char *fn, int depthwise, enum ConvOp op) {
  static const char *const NAMES[3][3] = {{"x", "filter", "out"}, {"dy", "filter", "dx"}, {"x", "dy", "dfilter"}};
  const char *const *n = NAMES[op];
  Args a;
  Arr A, B, O;
  ConvGeom g;
  TRY(get_args(env, info, fn, 4, &a));
  TRY(f32(&a, 0, n[0], &A) && f32(&a, 1, n[1], &B) && f32(&a, 2, n[2], &O));
  // The operands in the (x, filter, y) roles conv_geom checks.
  const Arr *x = op == CONV_INPUT ? &O : &A, *filter = op == CONV_FILTER ? &O : &B, *y = op == CONV_FORWARD ? &O : op == CONV_INPUT ? &A : &B;
  TRY(conv_geom(&a, 3, depthwise, x, filter, y, &g));
  int status = 0;
  if (depthwise) {
    if (op == CONV_FORWARD) status = k_dwconv2d_forward(A.data, B.data, O.data, &g);
    else if (op == CONV_INPUT) status = k_dwconv2d_backprop_input(A.data, B.data, O.data, &g);
    else status = k_dwconv2d_backprop_filter(A.data, B.data, O.data, &g);
  } else {
    if (op == CONV_FORWARD) status = k_conv2d_forward(A.data, B.data, O.data, &g);
    else if (op == CONV_INPUT) status = k_conv2d_backprop_input(A.data, B.data, O.data, &g);
    else status = k_conv2d_backprop_filter(A.data, B.data, O.data, &g);
  }
  if (status) throwf(&a, "out of memory");
  return NULL;
}

static napi_value conv2d_forward(napi_env env, napi_callback_info info) {
  return conv(env, info, "conv2dForward", 0, CONV_FORWARD);
}
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) {
  return conv(env, info, "conv2dBackpropInput", 0, CONV_INPUT);
}
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) {
  return conv(env, info, "conv2dBackpropFilter", 0, CONV_FILTER);
}
static napi_value dwconv2d_forward(napi_env env, napi_callback_info info) {
  return conv(env, info, "depthwiseConv2dForward", 1, CONV_FORWARD);
}
static napi_value dwconv2d_backprop_input(napi_env env, napi_callback_info info) {
  return conv(env, info, "depthwiseConv2dBackpropInput", 1, CONV_INPUT);
}
static napi_value dwconv2d_backprop_filter(napi_env env, napi_callback_info info) {
  return conv(env, info, "depthwiseConv2dBackpropFilter", 1, CONV_FILTER);
}

// BatchNorm's x [rows, c] with c = gamma's length >= 1: rows, or -1 after throwing.
static int64_t batchnorm_rows(const Args *a, const Arr *x, const Arr *gamma) {
  if (gamma->len == 0) return FAIL(a, "argument %d (gamma) is empty", gamma->arg) - 1;
  if (x->len % gamma->len)
    return FAIL(a, "argument %d (x) has %lld elements, not a multiple of c = %lld (gamma's length)", x->arg,
                (long long)x->len, (long long)gamma->len) - 1;
  return x->len / gamma->len;
}

// batchNormForward(x, gamma, beta, eps, relu6, y, mean, var)
static napi_value batchnorm_forward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, G, B, Y, M, V;
  double eps;
  int relu6;
  TRY(get_args(env, info, "batchNormForward", 8, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "gamma", &G) && f32(&a, 2, "beta", &B) && get_f64(&a, 3, "eps", &eps) &&
      get_bool(&a, 4, "relu6", &relu6) && f32(&a, 5, "y", &Y) && f32(&a, 6, "mean", &M) && f32(&a, 7, "var", &V));
  const int64_t rows = batchnorm_rows(&a, &X, &G);
  TRY(rows >= 0 && has_len(&a, &B, G.len, "gamma's length") && has_len(&a, &Y, X.len, "x's length") &&
      has_len(&a, &M, G.len, "gamma's length") && has_len(&a, &V, G.len, "gamma's length"));
  if (k_batchnorm_forward(X.data, G.data, B.data, (float)eps, relu6, Y.data, M.data, V.data, rows, G.len))
    throwf(&a, "out of memory");
  return NULL;
}

// batchNormBackward(x, gamma, beta, mean, var, eps, relu6, dy, dx, dgamma, dbeta)
static napi_value batchnorm_backward(napi_env env, napi_callback_info info) {
  Args a;
  Arr X, G, B, M, V, dY, dX, dG, dB;
  double eps;
  int relu6;
  TRY(get_args(env, info, "batchNormBackward", 11, &a));
  TRY(f32(&a, 0, "x", &X) && f32(&a, 1, "gamma", &G) && f32(&a, 2, "beta", &B) && f32(&a, 3, "mean", &M) &&
      f32(&a, 4, "var", &V) && get_f64(&a, 5, "eps", &eps) && get_bool(&a, 6, "relu6", &relu6) &&
      f32(&a, 7, "dy", &dY) && f32(&a, 8, "dx", &dX) && f32(&a, 9, "dgamma", &dG) && f32(&a, 10, "dbeta", &dB));
  const int64_t rows = batchnorm_rows(&a, &X, &G);
  TRY(rows >= 0 && has_len(&a, &B, G.len, "gamma's length") && has_len(&a, &M, G.len, "gamma's length") &&
      has_len(&a, &V, G.len, "gamma's length") && has_len(&a, &dY, X.len, "x's length") &&
      has_len(&a, &dX, X.len, "x's length") && has_len(&a, &dG, G.len, "gamma's length") &&
      has_len(&a, &dB, G.len, "gamma's length"));
  if (k_batchnorm_backward(X.data, G.data, B.data, M.data, V.data, (float)eps, relu6, dY.data, dX.data, dG.data,
                           dB.data, rows, G.len))
    throwf(&a, "out of memory");
  return NULL;
}

// setThreads(n): OpenBLAS thread count when n > 0 (OpenBLAS caps it at its MAX_THREADS; the elementwise
// kernels are single-threaded). Returns the count in effect.
static napi_value set_threads(napi_env env, napi_callback_info info) {
  Args a;
  int64_t n;
  TRY(get_args(env, info, "setThreads", 1, &a));
  TRY(get_int(&a, 0, "n", 0, INT_MAX, &n));
  if (n > 0) openblas_set_num_threads((int)n);
  napi_value result;
  napi_create_int32(env, openblas_get_num_threads(), &result);
  return result;
}

static napi_value blas_config(napi_env env, napi_callback_info info) {
  Args a;
  TRY(get_args(env, info, "blasConfig", 0, &a));
  napi_value result;
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &result);
  return result;
}

// sumSquares(x): sum of x[i]^2 (double accumulation).
static napi_value sum_squares(napi_env env, napi_callback_info info) {
  Args a;
  Arr X;
  TRY(get_args(env, info, "sumSquares", 1, &a));
  TRY(f32(&a, 0, "x", &X));
  napi_value result;
  napi_create_double(env, k_sum_squares(X.data, X.len), &result);
  return result;
}

// adam(p, grad, m, v, out, lr, beta1, beta2, eps, weightDecay, c1, c2, scale): see k_adam.
static napi_value adam(napi_env env, napi_callback_info info) {
  static const char *const HYPER[] = {"lr", "beta1", "beta2", "eps", "weightDecay", "c1", "c2", "scale"};
  Args a;
  Arr P, G, M, V, O;
  double h[8];
  TRY(get_args(env, info, "adam", 13, &a));
  TRY(f32(&a, 0, "p", &P) && f32(&a, 1, "grad", &G) && f32(&a, 2, "m", &M) && f32(&a, 3, "v", &V) &&
      f32(&a, 4, "out", &O));
  TRY(has_len(&a, &G, P.len, "p's length") && has_len(&a, &M, P.len, "p's length") &&
      has_len(&a, &V, P.len, "p's length") && has_len(&a, &O, P.len, "p's length"));
  for (int i = 0; i < 8; i++) TRY(get_f64(&a, 5 + i, HYPER[i], &h[i]));
  k_adam(P.data, G.data, M.data, V.data, O.data, P.len, (float)h[0], (float)h[1], (float)h[2], (float)h[3],
         (float)h[4], (float)h[5], (float)h[6], (float)h[7]);
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
    {"conv2dForward", conv2d_forward}, {"conv2dBackpropInput", conv2d_backprop_input},
    {"conv2dBackpropFilter", conv2d_backprop_filter}, {"depthwiseConv2dForward", dwconv2d_forward},
    {"depthwiseConv2dBackpropInput", dwconv2d_backprop_input}, {"depthwiseConv2dBackpropFilter", dwconv2d_backprop_filter},
    {"batchNormForward", batchnorm_forward}, {"batchNormBackward", batchnorm_backward},
    {"setThreads", set_threads}, {"blasConfig", blas_config},
    {"attentionForward", attention_forward}, {"attentionForwardMasked", attention_forward_masked}, {"attentionBackward", attention_backward},
  };
  for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
