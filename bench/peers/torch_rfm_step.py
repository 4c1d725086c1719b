#!/usr/bin/env python3
"""The peer of our trainer's step in PyTorch (Python): the same RFM model
(torchvision's ResNet to block 3; MAM's visible and infrared layer4 copies
with stride 1, their sigmoid attention reweighting the block-3 map, their BN
and classifiers; K-part PCB pooling, per part FC -> BN -> classifier) and the
same loss (per-part ID + batch-hard triplet + 3 x cross-centre + modality
ID), SGD with momentum and weight decay, on random images of the same batch
shape, with the same number of intra-op threads.  LTG is off on both sides
(bench/ltg_bench measures it).

  torch_rfm_step.py --depth 50 --parts 12 --height 384 --ids 2 --per-modality 2 --threads 2 --steps 6
  torch_rfm_step.py --device cuda --ids 7 --per-modality 8 --steps 12 --bf16 --channels-last   # a GPU (bench/gpu/run)

Prints one JSON line: the median step time over the steps after the first
two (their allocations warm up), and every step's time.
"""
import argparse
import copy
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


class Rfm(nn.Module):
    def __init__(self, depth, parts, part_dim, classes):
        super().__init__()
        net = torchvision.models.resnet50() if depth == 50 else torchvision.models.resnet18()
        self.to_block3 = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool, net.layer1, net.layer2, net.layer3)
        stage = copy.deepcopy(net.layer4)
        first = stage[0]
        (first.conv2 if depth == 50 else first.conv1).stride = (1, 1)  # last stride 1
        first.downsample[0].stride = (1, 1)
        self.visible_stage, self.infrared_stage = stage, copy.deepcopy(stage)
        c4, c3 = (2048, 1024) if depth == 50 else (512, 256)
        self.visible_bn, self.infrared_bn = nn.BatchNorm1d(c4), nn.BatchNorm1d(c4)
        self.visible_classifier = nn.Linear(c4, classes, bias=False)
        self.infrared_classifier = nn.Linear(c4, classes, bias=False)
        self.parts = parts
        self.reducers = nn.ModuleList(nn.Linear(c3, part_dim, bias=False) for _ in range(parts))
        self.norms = nn.ModuleList(nn.BatchNorm1d(part_dim) for _ in range(parts))
        self.classifiers = nn.ModuleList(nn.Linear(part_dim, classes, bias=False) for _ in range(parts))

    def forward(self, images, modality):
        block3 = self.to_block3(images)
        attention = torch.zeros(block3.size(0), 1, block3.size(2), block3.size(3), device=block3.device)
        branch_logits = []
        for m, stage, bn, classifier in ((0, self.visible_stage, self.visible_bn, self.visible_classifier),
                                         (1, self.infrared_stage, self.infrared_bn, self.infrared_classifier)):
            index = (modality == m).nonzero().squeeze(1)
            high = stage(block3.index_select(0, index))
            attention = attention.index_copy(0, index, torch.sigmoid(high.mean(1, keepdim=True)))
            branch_logits.append((classifier(bn(high.mean((2, 3)))), index))
        parts = F.adaptive_avg_pool2d(block3 * attention, (self.parts, 1)).squeeze(-1)
        normalized, logits = [], []
        for k in range(self.parts):
            f = self.norms[k](self.reducers[k](parts[:, :, k]))
            normalized.append(f)
            logits.append(self.classifiers[k](f))
        return torch.stack(normalized, 1), torch.stack(logits, 0), branch_logits


def triplet(features, labels, margin):  # batch-hard, per part: features [N, K, D]
    f = features.transpose(0, 1)
    d = torch.cdist(f, f)
    same = labels.view(-1, 1) == labels.view(1, -1)
    hardest_positive = torch.where(same, d, torch.zeros_like(d)).amax(2)
    hardest_negative = torch.where(same, torch.full_like(d, float("inf")), d).amin(2)
    return F.relu(margin + hardest_positive - hardest_negative).mean(1)


def cross_centre(features, labels, modality):
    ids, row = torch.unique(labels, sorted=True, return_inverse=True)
    slot = row * 2 + modality
    flat = features.reshape(features.size(0), -1)
    sums = torch.zeros(ids.numel() * 2, flat.size(1), device=flat.device).index_add(0, slot, flat)
    counts = torch.zeros(ids.numel() * 2, device=flat.device).index_add(0, slot, torch.ones(flat.size(0), device=flat.device))
    centres = (sums / counts.clamp_min(1).unsqueeze(1)).view(ids.numel(), 2, *features.shape[1:])
    target = centres[row, 1 - modality]
    d = (features - target).norm(dim=-1)
    return 0.5 * d.sum(0) / features.size(0)


def step_loss(model, images, labels, modality, bf16=False):
    # As our trainer's train.precision=BF16: only the forward under autocast,
    # its outputs back in float32 for the losses.
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=bf16):
        features, logits, branches = model(images, modality)
    if bf16:
        features, logits = features.float(), logits.float()
        branches = [(l.float(), i) for l, i in branches]
    identity = sum(F.cross_entropy(logits[k], labels) for k in range(logits.size(0)))
    modality_id = sum(F.cross_entropy(l, labels.index_select(0, i)) for l, i in branches)
    return identity + triplet(features, labels, 0.3).sum() + 3.0 * cross_centre(features, labels, modality).sum() \
        + modality_id


def add_model_arguments(p):
    """The model's shape, as our configuration's model.* and data.height
    (shared with model_flops.py)."""
    p.add_argument("--depth", type=int, default=50)
    p.add_argument("--parts", type=int, default=12)
    p.add_argument("--part-dim", type=int, default=256)
    p.add_argument("--classes", type=int, default=395)
    p.add_argument("--height", type=int, default=384)


def main():
    p = argparse.ArgumentParser()
    add_model_arguments(p)
    p.add_argument("--ids", type=int, default=2)
    p.add_argument("--per-modality", type=int, default=2)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=6)
    p.add_argument("--bf16", action="store_true", help="the forward under bfloat16 autocast (train.precision=BF16)")
    p.add_argument("--profile", default="", help="write one more step's Chrome trace here (profile_summary.py)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (our step bench's RFM_BENCH_DEVICE)")
    p.add_argument("--channels-last", action="store_true", help="the model and images channels-last (train.channels_last)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    device = torch.device(a.device)
    cuda = device.type == "cuda"
    # As our trainer's train.cudnn_benchmark (default on).
    torch.backends.cudnn.benchmark = cuda
    model = Rfm(a.depth, a.parts, a.part_dim, a.classes).to(device)
    if a.channels_last:
        model = model.to(memory_format=torch.channels_last)
    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03, momentum=0.9, weight_decay=5e-4)
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    n = a.ids * a.per_modality * 2
    labels = torch.arange(a.ids).repeat_interleave(2 * a.per_modality).to(device)
    modality = torch.tensor([0] * a.per_modality + [1] * a.per_modality).repeat(a.ids).to(device)
    def step():
        batch = torch.randint(0, 256, (n, 3, a.height, a.height // 2), dtype=torch.uint8)
        if cuda:
            batch = batch.pin_memory()  # as a DataLoader with pin_memory=True hands it over
        start = time.perf_counter()
        images = (batch.to(device, non_blocking=True).float().div_(255) - mean) / std
        if a.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        loss = step_loss(model, images, labels, modality, a.bf16)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if cuda:
            torch.cuda.synchronize()  # the step ends when the device is done
        return time.perf_counter() - start

    times = [step() for _ in range(a.steps)]
    if a.profile:
        with torch.autograd.profiler.profile() as prof:
            step()
        prof.export_chrome_trace(a.profile)
    print(json.dumps({"median_step_s": statistics.median(times[2:]), "steps_s": times, "images": n,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
