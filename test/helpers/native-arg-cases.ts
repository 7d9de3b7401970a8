// The addon calls of test/native-args.test.ts, shared with the child process that makes them
// (native-args-child.ts): the parent knows each call by its index. Each entry point has one valid call, described
// argument by argument, from which the sweep derives its bad calls: for every argument a wrong type, for
// integers negative / NaN / Infinity / fractional / too-large values, for arrays a buffer one element short, for
// shape-like int32 arrays a negative element; plus a missing and an extra argument.

/** What an argument is, which decides its bad variants. */
type Kind =
  | "f32" // Float32Array
  | "i32" // Int32Array whose values are data (indices, labels: any value is valid)
  | "dims" // Int32Array of dims, strides or offsets: a negative element is invalid
  | "dim" // non-negative integer (a size)
  | "op" // op code
  | "int" // any other integer argument
  | "num" // float
  | "bool"
  | "bias"; // Float32Array or null

interface Arg {
  name: string;
  kind: Kind;
  value: () => unknown;
  /** Arrays whose length is free (sumSquares' x) have no "one element short" case. */
  anyLength?: true;
}

interface EntryPoint {
  fn: string;
  args: Arg[];
}

export interface ArgCase {
  fn: string;
  what: string;
  args: () => unknown[];
  /** null: a valid call, which must return; else what the thrown Error's message must match. */
  throws: RegExp | null;
}

const f32 = (name: string, n: number, anyLength?: true): Arg => ({ name, kind: "f32", value: () => new Float32Array(n), anyLength });
const ints = (kind: "i32" | "dims", name: string, ...v: number[]): Arg => ({ name, kind, value: () => Int32Array.from(v) });
const num = (kind: "dim" | "op" | "int" | "num" | "bool", name: string, v: number | boolean): Arg => ({ name, kind, value: () => v });

/** One valid call per exported function: small sizes that fit together exactly, so any shorter array is too short. */
export const ENTRY_POINTS: EntryPoint[] = [
  // [2, 3] @ [3, 4] + bias [4]
  { fn: "gemm", args: [f32("a", 6), f32("b", 12), f32("c", 8), ints("dims", "offsA", 0), ints("dims", "offsB", 0),
    num("dim", "M", 2), num("dim", "N", 4), num("dim", "K", 3), num("bool", "transA", false), num("bool", "transB", false),
    { name: "bias", kind: "bias", value: () => new Float32Array(4) }, num("bool", "relu", true)] },
  // [2, 3] + [3] (b broadcast over rows)
  { fn: "binary", args: [num("op", "op", 0), f32("a", 6), ints("dims", "aStrides", 3, 1), f32("b", 3), ints("dims", "bStrides", 0, 1),
    f32("out", 6), ints("dims", "shape", 2, 3)] },
  { fn: "unary", args: [num("op", "op", 0), f32("x", 4), f32("out", 4), num("num", "alpha", 0)] },
  { fn: "reduce", args: [num("op", "op", 0), f32("x", 6), f32("out", 2), num("dim", "outer", 1), num("dim", "r", 3), num("dim", "inner", 2)] },
  { fn: "softmax", args: [f32("x", 6), f32("out", 6), num("dim", "rows", 2), num("dim", "cols", 3)] },
  { fn: "transpose", args: [f32("x", 6), f32("out", 6), ints("dims", "shape", 2, 3), ints("dims", "perm", 1, 0)] },
  { fn: "slice", args: [f32("x", 12), f32("out", 4), ints("dims", "shape", 3, 4), ints("dims", "begin", 1, 1), ints("dims", "size", 2, 2)] },
  { fn: "insert", args: [f32("x", 4), f32("out", 12), ints("dims", "shape", 3, 4), ints("dims", "begin", 1, 1), ints("dims", "size", 2, 2)] },
  // src [2, 2] into columns 1..2 of dst [2, 5]
  { fn: "copyRows", args: [f32("src", 4), f32("dst", 10), num("dim", "dstOffset", 1), num("dim", "dstStride", 5), num("dim", "rows", 2)] },
  { fn: "gather", args: [f32("x", 6), ints("i32", "indices", 2, 0), f32("out", 4), num("dim", "outer", 1), num("dim", "n", 3), num("dim", "inner", 2)] },
  { fn: "segmentSum", args: [f32("x", 6), ints("i32", "ids", 0, 1), f32("out", 6), num("dim", "segments", 2)] },
  { fn: "xentForward", args: [f32("logits", 6), ints("i32", "labels", 0, 2), f32("loss", 2), f32("lse", 2)] },
  { fn: "xentBackward", args: [f32("logits", 6), ints("i32", "labels", 0, 2), f32("lse", 2), f32("dy", 2), f32("out", 6)] },
  { fn: "sumSquares", args: [f32("x", 4, true)] },
  { fn: "adam", args: [f32("p", 3), f32("grad", 3), f32("m", 3), f32("v", 3), f32("out", 3), num("num", "lr", 1e-3),
    num("num", "beta1", 0.9), num("num", "beta2", 0.999), num("num", "eps", 1e-8), num("num", "weightDecay", 0),
    num("num", "c1", 0.1), num("num", "c2", 0.001), num("num", "scale", 1)] },
  { fn: "layerNormForward", args: [f32("x", 6), f32("gamma", 3), f32("beta", 3), num("num", "eps", 1e-5), f32("y", 6), f32("stats", 4)] },
  { fn: "layerNormBackward", args: [f32("x", 6), f32("gamma", 3), f32("stats", 4), f32("dy", 6), f32("dx", 6), f32("dgamma", 3),
    f32("dbeta", 3)] },
  { fn: "geluForward", args: [f32("x", 4), f32("y", 4)] },
  { fn: "geluBackward", args: [f32("x", 4), f32("dy", 4), f32("dx", 4)] },
  // x [1, 4, 3], w [3, 3]
  { fn: "depthwiseConv1dForward", args: [f32("x", 12), f32("w", 9), f32("bias", 3), f32("out", 12), num("dim", "b", 1), num("dim", "t", 4)] },
  { fn: "depthwiseConv1dBackward", args: [f32("x", 12), f32("w", 9), f32("dy", 12), f32("dx", 12), f32("dw", 9), f32("dbias", 3),
    num("dim", "b", 1), num("dim", "t", 4)] },
  // batch 1, seq 4, dim 4, 2 heads
  { fn: "attentionForward", args: [f32("q", 16), f32("k", 16), f32("v", 16), f32("ctx", 16), f32("p", 32), num("dim", "batch", 1),
    num("dim", "seq", 4), num("dim", "heads", 2)] },
  { fn: "attentionForwardMasked", args: [f32("q", 16), f32("k", 16), f32("v", 16), f32("kbias", 4), f32("ctx", 16), f32("p", 32),
    num("dim", "batch", 1), num("dim", "seq", 4), num("dim", "heads", 2)] },
  { fn: "attentionBackward", args: [f32("q", 16), f32("k", 16), f32("v", 16), f32("p", 32), f32("dctx", 16), f32("dq", 16),
    f32("dk", 16), f32("dv", 16), num("dim", "batch", 1), num("dim", "seq", 4), num("dim", "heads", 2)] },
  // x [1, 3, 3, 2], filter [3, 3, 2, 2] (depthwise [3, 3, 2, 1]), stride 2, pads 1 -> y [1, 2, 2, 2]
  ...([["conv2d", 36], ["depthwiseConv2d", 18]] as const).flatMap(([prefix, filterLen]) => {
    const geom = () => ints("dims", "geom", 1, 3, 3, 2, 3, 3, 2, 2, 2, 2, 2, 1, 1);
    return [
      { fn: `${prefix}Forward`, args: [f32("x", 18), f32("filter", filterLen), f32("out", 8), geom()] },
      { fn: `${prefix}BackpropInput`, args: [f32("dy", 8), f32("filter", filterLen), f32("dx", 18), geom()] },
      { fn: `${prefix}BackpropFilter`, args: [f32("x", 18), f32("dy", 8), f32("dfilter", filterLen), geom()] },
    ];
  }),
  // x [2, 3]
  { fn: "batchNormForward", args: [f32("x", 6), f32("gamma", 3), f32("beta", 3), num("num", "eps", 1e-5), num("bool", "relu6", true),
    f32("y", 6), f32("mean", 3), f32("var", 3)] },
  { fn: "batchNormBackward", args: [f32("x", 6), f32("gamma", 3), f32("beta", 3), f32("mean", 3), f32("var", 3), num("num", "eps", 1e-5),
    num("bool", "relu6", true), f32("dy", 6), f32("dx", 6), f32("dgamma", 3), f32("dbeta", 3)] },
  { fn: "setThreads", args: [num("int", "n", 0)] }, // 0 only reads the thread count
  { fn: "blasConfig", args: [] },
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The bad values of one argument, each with a description. */
function badValues(arg: Arg): [string, () => unknown][] {
  const short = (n: number) => Math.max(0, n - 1);
  switch (arg.kind) {
    case "f32":
    case "bias": {
      const n = (arg.value() as Float32Array).length;
      const out: [string, () => unknown][] = [
        ["an Int32Array", () => new Int32Array(n)], ["a Float64Array", () => new Float64Array(n)], ["a plain array", () => [0, 0, 0]],
        ["a number", () => n],
      ];
      if (arg.kind === "f32") out.push(["undefined", () => undefined]); // a bias may be null or undefined
      if (!arg.anyLength) out.push(["one element short", () => new Float32Array(short(n))]);
      return out;
    }
    case "i32":
    case "dims": {
      const v = arg.value() as Int32Array;
      const out: [string, () => unknown][] = [
        ["a Float32Array", () => new Float32Array(v.length)], ["a Uint32Array", () => new Uint32Array(v.length)], ["null", () => null],
        ["one element short", () => v.slice(0, short(v.length))],
      ];
      if (arg.kind === "dims") out.push(["a negative element", () => Int32Array.from(v, (x, i) => (i === 0 ? -1 : x))]);
      return out;
    }
    case "dim":
    case "op":
    case "int":
      return [
        ["-1", () => -1], ["NaN", () => NaN], ["Infinity", () => Infinity], ["-Infinity", () => -Infinity], ["2.5", () => 2.5],
        ["2^53 + 2", () => 2 ** 53 + 2], ["a string", () => "3"], ["a bigint", () => 3n], ["null", () => null],
        ...(arg.kind === "op" ? [["999 (no such op)", () => 999] as [string, () => unknown]] : []),
      ];
    case "num":
      return [["a string", () => "0.5"], ["undefined", () => undefined], ["an object", () => ({})]];
    case "bool":
      return [["a number", () => 1], ["a string", () => "true"], ["undefined", () => undefined]];
  }
}

/** The sweep: every entry point's valid call, then its bad calls. */
export function sweepCases(): ArgCase[] {
  const cases: ArgCase[] = [];
  for (const { fn, args } of ENTRY_POINTS) {
    const valid = () => args.map((a) => a.value());
    cases.push({ fn, what: "a valid call", args: valid, throws: null });
    const head = `^${fn}: `;
    if (args.length) cases.push({ fn, what: "a missing argument", args: () => valid().slice(0, -1), throws: new RegExp(`${head}expected ${args.length} arguments`) });
    cases.push({ fn, what: "an extra argument", args: () => [...valid(), 0], throws: new RegExp(`${head}expected ${args.length} arguments`) });
    args.forEach((arg, i) => {
      for (const [bad, value] of badValues(arg)) {
        const argsOf = () => valid().map((v, j) => (j === i ? value() : v));
        // A short array may be reported through the argument it disagrees with; every other error names its argument.
        const throws = bad === "one element short" ? new RegExp(head) : new RegExp(`${head}.*${escape(arg.name)}`);
        cases.push({ fn, what: `argument ${i} (${arg.name}) ${bad}`, args: argsOf, throws });
      }
    });
  }
  return cases;
}

const f = (n: number) => new Float32Array(n);
const i = (...v: number[]) => Int32Array.from(v);

/**
 * The four calls that crashed node (SIGSEGV) before the addon validated everything, and the checks that were
 * missing or silent: an unknown op code wrote nothing, num() cast NaN to an integer, OpenBLAS only printed a
 * complaint about negative dims.
 */
export const KNOWN_CRASHERS: ArgCase[] = [
  { fn: "slice", what: "begin near INT32_MAX: begin + size overflowed int32", throws: /^slice: begin\[0\]\+size\[0\] = 2147483648 exceeds shape\[0\] = 4$/,
    args: () => [f(4), f(2), i(4), i(2147483646), i(2)] },
  { fn: "transpose", what: "negative dims whose product is the length (a memcpy of -2 floats)", throws: /^transpose: argument 2 \(shape\): shape\[1\] = -2 is negative$/,
    args: () => [f(4), f(4), i(1, -2, -2), i(1, 0, 2)] },
  { fn: "gemm", what: "M*N = 2^64 wrapped to 0: the bias fill wrote past c", throws: /^gemm: argument 5 \(M\) must be an integer in \[0, 2147483647\], got 4294967296$/,
    args: () => [f(0), f(0), f(0), i(0), i(0), 2 ** 32, 2 ** 32, 0, false, false, f(1), false] },
  { fn: "gemm", what: "batch*M*N = 16 * 2^60 wrapped to 0", throws: /^gemm: argument 2 \(c\) has 0 elements, but batch\*M\*N overflows$/,
    args: () => [f(0), f(0), f(0), new Int32Array(16), new Int32Array(16), 2 ** 30, 2 ** 30, 0, false, false, f(1), false] },
  { fn: "binary", what: "a negative stride (only the upper bound was checked)", throws: /^binary: argument 2 \(aStrides\): aStrides\[0\] = -1000000 must be non-negative$/,
    args: () => [0, f(4), i(-1000000, 1), f(4), i(0, 1), f(8), i(2, 4)] },
  { fn: "binary", what: "an unknown op code (wrote nothing)", throws: /^binary: argument 0 \(op\) must be an integer in \[0, 6\], got 7$/,
    args: () => [7, f(4), i(1), f(4), i(1), f(4), i(4)] },
  { fn: "reduce", what: "NaN dims (cast to int64)", throws: /^reduce: argument 3 \(outer\) must be a non-negative integer, got NaN$/,
    args: () => [0, f(4), f(1), NaN, 4, 1] },
  { fn: "gemm", what: "negative dims (OpenBLAS printed an error)", throws: /^gemm: argument 5 \(M\) must be an integer in \[0, 2147483647\], got -3$/,
    args: () => [f(6), f(6), f(4), i(0), i(0), -3, 2, 3, false, false, null, false] },
];
