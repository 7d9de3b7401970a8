"""PyTorch twin of scripts/bench-model.ts: same block, sizes, loss and Adam, for the reference ms/step.

Usage: python3 scripts/bench_torch.py THREADS BATCH SEQ HIDDEN HEADS FFN VOCAB [STEPS]
Prints one JSON line: {"threads", "ms" (median), "maxrss_mb"}.
"""
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F

threads, B, T, D, H, FF, V = (int(a) for a in sys.argv[1:8])
steps = int(sys.argv[8]) if len(sys.argv) > 8 else 20
torch.set_num_threads(threads)
torch.manual_seed(1)


def w(*shape, fan_in):
    return (torch.randn(*shape) / math.sqrt(fan_in)).requires_grad_()


def zeros(*shape):
    return torch.zeros(*shape, requires_grad=True)


def ones(*shape):
    return torch.ones(*shape, requires_grad=True)


p = dict(
    tok=w(V, D, fan_in=D), pos=w(T, D, fan_in=D),
    wqkv=w(D, 3 * D, fan_in=D), bqkv=zeros(3 * D), wo=w(D, D, fan_in=D), bo=zeros(D),
    ln1g=ones(D), ln1b=zeros(D), w1=w(D, FF, fan_in=D), b1=zeros(FF), w2=w(FF, D, fan_in=FF), b2=zeros(D),
    ln2g=ones(D), ln2b=zeros(D), wout=w(D, V, fan_in=D), bout=zeros(V),
)
opt = torch.optim.Adam(p.values(), lr=1e-3)
n = B * T
ids = torch.randint(0, V, (n,))
labels = torch.randint(0, V, (n,))
weights = (torch.rand(n) < 0.15).float()
dh = D // H


def layer_norm(x, g, b):
    return F.layer_norm(x, (D,), g, b, eps=1e-5)


def loss_fn():
    x = (p["tok"][ids].view(B, T, D) + p["pos"]).view(n, D)  # [BT, D]
    q, k, v = (x @ p["wqkv"] + p["bqkv"]).split(D, dim=1)
    heads = lambda t: t.view(B, T, H, dh).transpose(1, 2)  # [B, H, T, dh]
    probs = torch.softmax(heads(q) @ heads(k).transpose(-1, -2) / math.sqrt(dh), dim=-1)  # [B, H, T, T]
    ctx = (probs @ heads(v)).transpose(1, 2).reshape(n, D)
    h1 = layer_norm(x + ctx @ p["wo"] + p["bo"], p["ln1g"], p["ln1b"])
    h2 = layer_norm(h1 + torch.relu(h1 @ p["w1"] + p["b1"]) @ p["w2"] + p["b2"], p["ln2g"], p["ln2b"])
    logits = h2 @ p["wout"] + p["bout"]  # [BT, V]
    ce = F.cross_entropy(logits, labels, reduction="none")
    return (ce * weights).sum() / weights.sum()


times = []
for i in range(steps + 3):
    start = time.perf_counter()
    opt.zero_grad()
    loss = loss_fn()
    loss.backward()
    opt.step()
    loss.item()
    if i >= 3:
        times.append((time.perf_counter() - start) * 1000)
times.sort()
maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"threads": threads, "ms": times[len(times) // 2], "maxrss_mb": round(maxrss_mb, 1)}))
