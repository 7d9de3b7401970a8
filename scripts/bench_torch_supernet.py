"""PyTorch twin of the project's weight-sharing supernet step (lib/nas/supernet.ts, lib/nas/ops.ts, lib/train).

Usage: python3 scripts/bench_torch_supernet.py THREADS STEPS ['<json spec>']   (spec from stdin when omitted)
Spec: {"layers", "hidden", "seqLen", "vocab", "batch", "ops": [OpSpec, ...], "maskFrac": 0.15, "seed": 0}
with OpSpec as lib/nas/types.ts: {"kind": "attention", "heads"} | {"kind": "ffn", "inner"} |
{"kind": "sepconv", "kernel"} | {"kind": "identity"}. Optional "lr" (default 1e-3), "clipNorm" (default 1.0).

Structure as the TypeScript model: h0 = LN(tok[ids] + pos); per layer a post-LN residual block
h = LN(h + op(h)) (identity: h unchanged, no LN); MLM head on the masked rows only: LN(GELU(dense(h))),
logits = x @ tok^T + bias (tied); loss = sum(w * ce) / max(sum(w), 1). GELU is x * sigmoid(1.702 x), LN eps
1e-5, truncated-normal init std 0.02. All L x K blocks exist once (weight sharing); each step samples a
uniform random child (seeded) and only its params + the shared ones get gradients. One torch.optim.Adam over
all params (it skips params whose .grad is None and keeps a per-param step count: the lazy Adam of
lib/train/adam.ts), betas 0.9/0.98, eps 1e-6, gradients clipped to global norm clipNorm as lib/train/loop.ts
(scaled only when the norm exceeds it). Random token ids, labels and mask, fixed per run.
Prints one JSON line: {"threads", "ms" (median over STEPS after 3 warm-up steps), "maxrss_mb"}.
"""
import json
import math
import random
import resource
import sys
import time

import torch
import torch.nn.functional as F

WARMUP = 3
STD = 0.02
LN_EPS = 1e-5

threads, steps = int(sys.argv[1]), int(sys.argv[2])
spec = json.loads(sys.argv[3] if len(sys.argv) > 3 else sys.stdin.read())
L, D, T, V, B = (int(spec[k]) for k in ("layers", "hidden", "seqLen", "vocab", "batch"))
OPS = spec["ops"]
mask_frac = float(spec.get("maskFrac", 0.15))
seed = int(spec.get("seed", 0))
lr = float(spec.get("lr", 1e-3))
clip_norm = float(spec.get("clipNorm", 1.0))
torch.set_num_threads(threads)
torch.manual_seed(seed)


def normal(*shape):
    """Truncated normal at 2 std, as tf.truncatedNormal."""
    t = torch.empty(*shape)
    torch.nn.init.trunc_normal_(t, mean=0.0, std=STD, a=-2 * STD, b=2 * STD)
    return t.requires_grad_()


def zeros(*shape):
    return torch.zeros(*shape, requires_grad=True)


def ones(*shape):
    return torch.ones(*shape, requires_grad=True)


def gelu(x):
    return x * torch.sigmoid(1.702 * x)


def layer_norm(x, p, prefix):
    return F.layer_norm(x, (D,), p[prefix + "gamma"], p[prefix + "beta"], eps=LN_EPS)


def make_block(op):
    """The op's params (local names as lib/nas/ops.ts) incl. its LayerNorm; identity: none."""
    kind = op["kind"]
    if kind == "identity":
        return {}
    p = {}
    if kind == "attention":
        for n in ("q", "k", "v", "out"):
            p[n + "/w"], p[n + "/b"] = normal(D, D), zeros(D)
    elif kind == "ffn":
        p["w1"], p["b1"] = normal(D, op["inner"]), zeros(op["inner"])
        p["w2"], p["b2"] = normal(op["inner"], D), zeros(D)
    elif kind == "sepconv":
        if op["kernel"] % 2 != 1:
            raise ValueError(f"sepconv kernel must be odd, got {op['kernel']}")
        p["depthwise/w"], p["depthwise/b"] = normal(op["kernel"], D), zeros(D)  # one k-tap filter per channel
        p["pointwise/w"], p["pointwise/b"] = normal(D, D), zeros(D)
    else:
        raise ValueError(f"unknown op kind {kind}")
    p["ln/gamma"], p["ln/beta"] = ones(D), zeros(D)
    return p


def op_forward(op, p, x):
    """op(x) on rows x [B*T, D] -> [B*T, D]."""
    kind = op["kind"]
    if kind == "attention":
        h = op["heads"]
        dh = D // h
        split = lambda t: t.view(B, T, h, dh).transpose(1, 2)  # [B, H, T, dh]
        q, k, v = (split(x @ p[n + "/w"] + p[n + "/b"]) for n in ("q", "k", "v"))
        scores = (q * (1 / math.sqrt(dh))) @ k.transpose(-1, -2)  # [B, H, T, T], no padding mask
        ctx = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B * T, D)
        return ctx @ p["out/w"] + p["out/b"]
    if kind == "ffn":
        return gelu(x @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"]
    # sepconv: depthwise conv over time, same zero padding, out[t] = sum_j x[t + j - pad] * w[j] (conv1d is a
    # cross-correlation, as the TS sum of shifted slices), + bias; pointwise dense; GELU.
    k = op["kernel"]
    xt = x.view(B, T, D).transpose(1, 2)  # [B, D, T]
    conv = F.conv1d(xt, p["depthwise/w"].t().unsqueeze(1), p["depthwise/b"], padding=(k - 1) // 2, groups=D)
    y = conv.transpose(1, 2).reshape(B * T, D)
    return gelu(y @ p["pointwise/w"] + p["pointwise/b"])


shared = {
    "emb/token": normal(V, D), "emb/pos": normal(T, D), "emb/ln/gamma": ones(D), "emb/ln/beta": zeros(D),
    "head/dense/w": normal(D, D), "head/dense/b": zeros(D), "head/ln/gamma": ones(D), "head/ln/beta": zeros(D),
    "head/bias": zeros(V),
}
blocks = [[make_block(op) for op in OPS] for _ in range(L)]  # blocks[l][i]: op i at layer l (weight sharing)
all_params = list(shared.values()) + [t for row in blocks for b in row for t in b.values()]
opt = torch.optim.Adam(all_params, lr=lr, betas=(0.9, 0.98), eps=1e-6)

gen = torch.Generator().manual_seed(seed + 1)
n = B * T
ids = torch.randint(0, V, (n,), generator=gen)
labels = torch.randint(0, V, (n,), generator=gen)
weights = (torch.rand(n, generator=gen) < mask_frac).float()
if weights.sum() == 0:
    weights[0] = 1.0
at = weights.nonzero().squeeze(1)  # masked rows, as Supernet.selected
sel_labels, sel_w = labels[at], weights[at]
rng = random.Random(seed)


def loss_fn(arch):
    s = shared
    x = (s["emb/token"][ids].view(B, T, D) + s["emb/pos"]).view(n, D)
    h = layer_norm(x, s, "emb/ln/")  # [B*T, D]
    for l, i in enumerate(arch):
        op = OPS[i]
        if op["kind"] == "identity":
            continue
        p = blocks[l][i]
        h = layer_norm(h + op_forward(op, p, h), p, "ln/")
    rows = layer_norm(gelu(h[at] @ s["head/dense/w"] + s["head/dense/b"]), s, "head/ln/")  # [M, D]
    logits = rows @ s["emb/token"].t() + s["head/bias"]  # [M, V], tied output projection
    ce = F.cross_entropy(logits, sel_labels, reduction="none")
    return (ce * sel_w).sum() / sel_w.sum().clamp(min=1)


def step():
    arch = [rng.randrange(len(OPS)) for _ in range(L)]  # uniform random child
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(arch)
    loss.backward()
    grads = [p.grad for p in all_params if p.grad is not None]
    norm = torch.sqrt(sum((g * g).sum() for g in grads)).item()
    loss.item()
    if clip_norm > 0 and norm > clip_norm:
        for g in grads:
            g.mul_(clip_norm / norm)
    opt.step()


times = []
for i in range(steps + WARMUP):
    start = time.perf_counter()
    step()
    if i >= WARMUP:
        times.append((time.perf_counter() - start) * 1000)
times.sort()
maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"threads": threads, "ms": times[len(times) // 2], "maxrss_mb": round(maxrss_mb, 1)}))
