#!/usr/bin/env python3
"""FLOPs per image of the RFM model's training step, counted on the peer's
PyTorch model (torch_rfm_step.Rfm: the same layers and parameter count as
ours) with the profiler's FLOP estimates of one forward in train mode:
convolutions and matrix products (multiply and add counted as two).

A training step is taken as three forwards' worth less the first
convolution's: backward computes each convolution's and linear layer's
input gradient and weight gradient, each as many FLOPs as its forward,
except the input gradient of the first convolution, whose input (the
images) needs none.  Element-wise work (BN, ReLU, the losses) is left out,
as is usual for model FLOPs.

  model_flops.py --depth 50 --parts 12 --part-dim 256 --classes 395 --height 384
Prints one JSON line.
"""
import argparse
import json

import torch

import torch_rfm_step as peer


def main():
    p = argparse.ArgumentParser()
    peer.add_model_arguments(p)
    p.add_argument("--images", type=int, default=4, help="images in the counted forward (half per modality)")
    a = p.parse_args()
    torch.manual_seed(1)
    model = peer.Rfm(a.depth, a.parts, a.part_dim, a.classes)
    model.train()
    n = a.images - a.images % 2
    images = torch.randn(n, 3, a.height, a.height // 2)
    modality = torch.tensor([0, 1] * (n // 2))
    with torch.profiler.profile(with_flops=True) as prof:
        model(images, modality)
    by_op = {}
    for e in prof.key_averages():
        if e.flops:
            by_op[e.key] = by_op.get(e.key, 0) + e.flops / n
    counted = {k: v for k, v in by_op.items() if k in ("aten::conv2d", "aten::mm", "aten::addmm", "aten::bmm")}
    forward = sum(counted.values())
    first_conv = 2.0 * 64 * 3 * 7 * 7 * (a.height // 2) * (a.height // 4)  # 7x7 stride 2, 3 -> 64 channels
    print(json.dumps({"depth": a.depth, "height": a.height, "width": a.height // 2,
                      "parameters": sum(t.numel() for t in model.parameters()),
                      "forward_gflop_per_image": forward / 1e9, "first_conv_gflop_per_image": first_conv / 1e9,
                      "training_gflop_per_image": (3 * forward - first_conv) / 1e9,
                      "forward_by_op_gflop": {k: v / 1e9 for k, v in counted.items()}}))


if __name__ == "__main__":
    main()
