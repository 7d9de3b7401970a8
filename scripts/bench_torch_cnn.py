"""PyTorch twin of the CNN benchmark step (scripts/bench-cnn.ts): the same MobileNetV2-style network and step.

Usage: python3 scripts/bench_torch_cnn.py THREADS STEPS '<json spec>'   (spec = CnnBenchConfig of bench-cnn.ts)
Spec: {"batch", "size", "channels", "stem", "blocks": [{"out", "expansion", "kernel", "stride"}, ...], "classes",
"learningRate"}.

Network as the TypeScript model: stem Conv2d 3x3 stride 1 'same' (no bias) + BatchNorm2d + ReLU6; per block an
MBConv: 1x1 expand conv (when expansion > 1) + BN + ReLU6, depthwise kxk conv (groups = channels, stride s, padding
k // 2: 'same' for odd k at stride 1, and the same output size at stride 2) + BN + ReLU6, 1x1 project conv + BN,
residual add when stride 1 and the channels match; global average pool, Linear to the classes; mean cross-entropy;
torch.optim.Adam (lr from the spec). BatchNorm2d in training mode (batch statistics, eps 1e-5). Tensors are NCHW
(PyTorch's default layout; ours are NHWC), float32. Random images and labels, fixed per run.
Prints one JSON line: {"threads", "ms" (median over STEPS after 3 warm-up steps), "maxrss_mb"}.
"""
import json
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WARMUP = 3

threads, steps = int(sys.argv[1]), int(sys.argv[2])
spec = json.loads(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)


def conv_bn(cin, cout, kernel, stride=1, groups=1, relu6=True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout, eps=1e-5)]
    return layers + [nn.ReLU6()] if relu6 else layers


class MBConv(nn.Module):
    def __init__(self, cin, out, expansion, kernel, stride):
        super().__init__()
        hidden = cin * expansion
        layers = conv_bn(cin, hidden, 1) if expansion != 1 else []
        layers += conv_bn(hidden, hidden, kernel, stride, groups=hidden)
        layers += conv_bn(hidden, out, 1, relu6=False)
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == out

    def forward(self, x):
        y = self.body(x)
        return x + y if self.residual else y


layers = conv_bn(spec["channels"], spec["stem"], 3)
cin = spec["stem"]
for b in spec["blocks"]:
    layers.append(MBConv(cin, b["out"], b["expansion"], b["kernel"], b["stride"]))
    cin = b["out"]
features = nn.Sequential(*layers)
head = nn.Linear(cin, spec["classes"])
model = nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), head).train()
optimizer = torch.optim.Adam(model.parameters(), lr=float(spec["learningRate"]))

B, S = int(spec["batch"]), int(spec["size"])
images = torch.rand(B, int(spec["channels"]), S, S)
labels = torch.randint(0, int(spec["classes"]), (B,))


def step():
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(images), labels)
    loss.backward()
    optimizer.step()
    return loss.item()


for _ in range(WARMUP):
    step()
times = []
for _ in range(steps):
    start = time.perf_counter()
    step()
    times.append((time.perf_counter() - start) * 1000)
times.sort()
maxrss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"threads": threads, "ms": times[len(times) // 2], "maxrss_mb": round(maxrss_mb, 1)}))
