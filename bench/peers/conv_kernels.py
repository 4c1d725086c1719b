#!/usr/bin/env python3
"""How fast LibTorch's CPU convolution kernels run on each convolution of the
RFM model, and what the alternatives would reach: the question behind "can
our trainer's step beat PyTorch's when both call the same oneDNN kernels?"
(docs/PERFORMANCE.md, "3x3 convolutions"; the history in bench/results/JOURNAL.md).

The convolutions are found by running the peer's model (torch_rfm_step.Rfm,
the same layers as ours) once at the given size and batch, each MAM layer4
copy on its modality's half.  For every distinct convolution it times, with
the given threads (median of --repetitions):

- oneDNN (LibTorch's default): forward, the input gradient (not for the
  first convolution, whose images need none) and the weight gradient;
- the same product as one OpenBLAS sgemm, [out, in*k*k] x [in*k*k,
  batch*out_h*out_w]: what an im2col formulation's product alone reaches,
  before its im2col and col2im;
- PyTorch's own fallback (oneDNN switched off: im2col per image and sgemm),
  forward and both gradients.

  conv_kernels.py --depth 18 --height 128 --ids 8 --per-modality 2 --threads 2
Prints one JSON line per distinct convolution, then one for the totals.
"""
import argparse
import json
import statistics
import time

import torch

import torch_rfm_step as peer


def median_ms(fn, repetitions):
    fn()  # oneDNN builds its primitive on the first call
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def model_convolutions(a):
    """(in, out, kernel, stride, padding, batch, height, width) -> how many
    times one training forward runs it."""
    model = peer.Rfm(a.depth, a.parts, a.part_dim, a.classes)
    found = {}

    def record(module, inputs, _output):
        x = inputs[0]
        key = (module.in_channels, module.out_channels, module.kernel_size[0], module.stride[0], module.padding[0],
               x.size(0), x.size(2), x.size(3))
        found[key] = found.get(key, 0) + 1

    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            m.register_forward_hook(record)
    n = a.ids * a.per_modality * 2
    with torch.no_grad():
        model(torch.randn(n, 3, a.height, a.height // 2), torch.tensor([0, 1] * (n // 2)))
    return found


def time_convolution(key, repetitions):
    cin, cout, k, s, p, n, h, w = key
    first = cin == 3
    x = torch.randn(n, cin, h, w)
    weight = torch.randn(cout, cin, k, k)
    y = torch.conv2d(x, weight, None, s, p)
    grad = torch.randn_like(y)
    gflop = 2.0 * y.numel() * cin * k * k / 1e9

    def backward(mask):
        return lambda: torch.ops.aten.convolution_backward(grad, x, weight, None, [s, s], [p, p], [1, 1], False,
                                                           [0, 0], 1, mask)

    out = {"in": cin, "out": cout, "kernel": k, "stride": s, "batch": n, "height": h, "width": w,
           "gflop_each_pass": gflop}
    out["onednn_forward_ms"] = median_ms(lambda: torch.conv2d(x, weight, None, s, p), repetitions)
    out["onednn_input_grad_ms"] = 0.0 if first else median_ms(backward([True, False, False]), repetitions)
    out["onednn_weight_grad_ms"] = median_ms(backward([False, True, False]), repetitions)
    a = torch.randn(cout, cin * k * k)
    b = torch.randn(cin * k * k, y.numel() // cout)
    c = torch.empty(cout, b.size(1))
    out["sgemm_ms"] = median_ms(lambda: torch.mm(a, b, out=c), repetitions)
    mask = [not first, True, False]
    with torch.backends.mkldnn.flags(enabled=False):
        out["fallback_ms"] = median_ms(lambda: (torch.conv2d(x, weight, None, s, p), backward(mask)()), repetitions)
    for name in ("onednn_forward", "onednn_input_grad", "onednn_weight_grad", "sgemm"):
        ms = out[name + "_ms"]
        out[name + "_gflop_per_s"] = gflop / ms * 1e3 if ms > 0 else None
    return out


def main():
    p = argparse.ArgumentParser()
    peer.add_model_arguments(p)
    p.add_argument("--ids", type=int, default=8)
    p.add_argument("--per-modality", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repetitions", type=int, default=7)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    totals = {"onednn_ms": 0.0, "fallback_ms": 0.0, "gflop": 0.0}
    for key, count in sorted(model_convolutions(a).items()):
        row = time_convolution(key, a.repetitions)
        row["count"] = count
        print(json.dumps(row), flush=True)
        passes = 2 if key[0] == 3 else 3
        totals["onednn_ms"] += count * (row["onednn_forward_ms"] + row["onednn_input_grad_ms"] +
                                        row["onednn_weight_grad_ms"])
        totals["fallback_ms"] += count * row["fallback_ms"]
        totals["gflop"] += count * passes * row["gflop_each_pass"]
    totals["onednn_gflop_per_s"] = totals["gflop"] / totals["onednn_ms"] * 1e3
    totals["threads"] = a.threads
    print(json.dumps({"totals": totals}))


if __name__ == "__main__":
    main()
