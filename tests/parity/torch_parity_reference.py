#!/usr/bin/env python3
"""PyTorch's side of the step-by-step parity test (tests/test_torch_parity.cpp).

For each case it builds the RFM network in plain PyTorch (python/rfm_model.py), draws fixed
batches of synthetic two-modality identities, and trains with PyTorch's own losses and SGD.
It writes, under OUT/<case>/:
  config.pbtxt  the same run for our trainer (model, loss, optimizer; LTG off)
  init.pt       the initial state dict, in our parameter names (our trainer loads it)
  batches.pt    {"images": uint8 [S, N, 3, H, W], "labels": int64 [S, N], "modality": int64 [S, N]}
  expected.pt   per-step float64 [S] tensors: total, id, triplet, centre, modality_id, grad_norm, lr
  gradients0.pt every parameter's gradient in the first step
  final.pt      the state dict after the last step
  init_stats.pt per-tensor std of a fresh PyTorch initialisation (no copy: our own init is
                compared with it)

The losses are written the way PyTorch code usually writes them (F.cross_entropy, the
batch-hard triplet of the AGW/BoT baselines, the cross-centre loss of Eq. 6), not transcribed
from our C++, so that agreement means the same mathematics, not the same code.

PyTorch's side takes two minutes of one core and depends only on this script, the model
(python/rfm_model.py), the arguments and the torch it runs on. With --cache DIR the result is
kept under DIR/<hash of those> and later runs (another build folder, a fresh clone) link it
into OUT instead of training again; the newest few results are kept.

  torch_parity_reference.py OUT [--steps 30] [--case NAME ...] [--cache DIR]
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import rfm_model  # noqa: E402

# The training shape: small enough for the suite, large enough for every
# part of the model (ResNet-18 at 64x32: a 4x2 block-3 map, 4 parts of one row).
DEPTH, HEIGHT, WIDTH, PARTS, PART_DIM = 18, 64, 32, 4, 32
IDENTITIES, IDS_PER_BATCH, PER_MODALITY = 10, 4, 2
LR, MOMENTUM, WEIGHT_DECAY, MARGIN = 0.01, 0.9, 5e-4, 0.3
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

# name: (attention, cross-centre weight (0 = none), the model seed, precision, steps
# (None: --steps), our trainer's convolutions).  Float32 training of this model amplifies a
# rounding difference of 1e-7 to 1e-3 within three steps (two runs of PyTorch itself whose
# inputs differ by 1e-6 do that: a few ReLU inputs that sit within rounding of zero flip and
# move whole gradients by percent), so the 30-step trajectories are compared in float64, with
# LibTorch's convolutions and with our Winograd ones (both tiles) from 64 channels; float32 is
# compared over the first step, where both sides run the same kernels.
LIBTORCH_CONV = "winograd_min_channels: 0"
WINOGRAD_2X2 = "winograd_min_channels: 64 winograd_tile: WINOGRAD_2X2"
WINOGRAD_4X4 = "winograd_min_channels: 64 winograd_tile: WINOGRAD_4X4"
CASES = {
    "baseline": ("none", 0.0, 11, "FP64", None, LIBTORCH_CONV),
    "cross_centre": ("none", 0.5, 12, "FP64", None, LIBTORCH_CONV),
    "mam": ("mam", 0.0, 13, "FP64", None, LIBTORCH_CONV),
    "rfm": ("mam", 0.5, 14, "FP64", None, LIBTORCH_CONV),
    "rfm_winograd_2x2": ("mam", 0.5, 14, "FP64", None, WINOGRAD_2X2),
    "rfm_winograd_4x4": ("none", 0.5, 15, "FP64", None, WINOGRAD_4X4),
    "rfm_float32": ("mam", 0.5, 14, "FP32", 1, LIBTORCH_CONV),
}


# How many results --cache keeps (each 1.9 GB, mostly float64 state dicts): this
# version and the one before it, as when switching between two branches.
KEEP_CACHED = 2

# What run_case writes besides config.pbtxt: PyTorch's side of a case.
TRAJECTORY_FILES = ("init_stats.pt", "init.pt", "batches.pt", "gradients0.pt", "expected.pt", "final.pt")


def f32(x):
    """What our configuration's float fields hold (0.01 as a float is 0.00999999977...)."""
    return float(torch.tensor(x, dtype=torch.float32))


def make_batches(steps, seed):
    """Identities as smooth colour layouts; infrared rows as a per-image linear map of a
    grey level (a stand-in for the VIS->NIR change), both with noise and a random shift."""
    g = torch.Generator().manual_seed(seed)
    layouts = torch.rand(IDENTITIES, 3, 8, 4, generator=g)
    base = F.interpolate(layouts, size=(HEIGHT, WIDTH), mode="bilinear", align_corners=False)
    images, labels, modality = [], [], []
    for _ in range(steps):
        ids = torch.randperm(IDENTITIES, generator=g)[:IDS_PER_BATCH]
        rows, lab, mod = [], [], []
        for i in ids.tolist():
            for m in (0, 1):
                for _ in range(PER_MODALITY):
                    x = base[i]
                    if m == 1:
                        grey = (x * torch.rand(3, 1, 1, generator=g)).sum(0, keepdim=True) / 1.5
                        x = grey.expand(3, -1, -1)
                    x = torch.roll(x, int(torch.randint(-3, 4, (1,), generator=g)), dims=2)
                    x = x + 0.08 * torch.randn(x.shape, generator=g)
                    rows.append((x.clamp(0, 1) * 255).round().to(torch.uint8))
                    lab.append(i)
                    mod.append(m)
        images.append(torch.stack(rows))
        labels.append(torch.tensor(lab))
        modality.append(torch.tensor(mod))
    return torch.stack(images), torch.stack(labels), torch.stack(modality)


def identity_loss(logits, labels):
    return F.cross_entropy(logits, labels)


def batch_hard_triplet(features, labels, margin):
    """features [N, D]: for each anchor the farthest positive and the nearest negative."""
    d2 = features.pow(2).sum(1, keepdim=True) + features.pow(2).sum(1).unsqueeze(0) - 2 * features @ features.t()
    dist = d2.clamp(min=1e-12).sqrt()
    same = labels.view(-1, 1) == labels.view(1, -1)
    positive = torch.stack([dist[i][same[i]].max() for i in range(dist.size(0))])
    negative = torch.stack([dist[i][~same[i]].min() for i in range(dist.size(0))])
    return F.relu(positive - negative + margin).mean()


def cross_centre(features, labels, modality):
    """Eq. 6: each sample's distance to its identity's centre in the other modality."""
    loss = features.new_zeros(())
    for i in range(features.size(0)):
        other = (labels == labels[i]) & (modality != modality[i])
        if other.any():
            loss = loss + (features[i] - features[other].mean(0)).norm()
    return 0.5 * loss / features.size(0)


def rfm_loss(outputs, labels, modality, centre_weight):
    metric, logits, _, branches = outputs
    terms = {"id": sum(identity_loss(logits[k], labels) for k in range(logits.size(0)))}
    terms["triplet"] = sum(batch_hard_triplet(metric[:, k], labels, f32(MARGIN)) for k in range(metric.size(1)))
    zero = metric.new_zeros(())
    terms["centre"] = (sum(cross_centre(metric[:, k], labels, modality) for k in range(metric.size(1)))
                       if centre_weight > 0 else zero)
    terms["modality_id"] = sum((identity_loss(l, labels.index_select(0, i)) for l, i in branches if l is not None),
                               zero)
    terms["total"] = terms["modality_id"] + terms["id"] + terms["triplet"] + f32(centre_weight) * terms["centre"]
    return terms


def config_text(attention, centre_weight, steps, precision, convolutions):
    centre = "CROSS_CENTER" if centre_weight > 0 else "NO_CENTER_LOSS"
    return f"""# Written by tests/parity/torch_parity_reference.py: the PyTorch run's twin.
name: "parity"
model {{ depth: {DEPTH} last_stride: 1 num_parts: {PARTS} part_dim: {PART_DIM} num_classes: {IDENTITIES}
        attention: {attention.upper()} metric_feature: BEFORE_BN }}
ltg {{ enabled: false }}
loss {{ center_loss: {centre} center_weight: {centre_weight} triplet_margin: {MARGIN} }}
optimizer {{ lr: {LR} momentum: {MOMENTUM} weight_decay: {WEIGHT_DECAY} }}
data {{ source: RANDOM_IDENTITIES height: {HEIGHT} width: {WIDTH} ids_per_batch: {IDS_PER_BATCH}
       images_per_modality: {PER_MODALITY} }}
train {{ epochs: 1 steps_per_epoch: {steps} threads: 1 device: "cpu" precision: {precision} }}
cpu_kernels {{ {convolutions} }}
"""


def link_or_copy(source, target):
    """Hard links where the file system allows (the fixtures are read, never written, by the
    tests), a copy elsewhere."""
    if os.path.exists(target):
        os.remove(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def link_tree(source, target):
    for root, _, files in os.walk(source):
        where = os.path.join(target, os.path.relpath(root, source))
        os.makedirs(where, exist_ok=True)
        for file in files:
            link_or_copy(os.path.join(root, file), os.path.join(where, file))


def cache_key(args):
    """Everything the fixtures depend on: this script, the model, the arguments, the torch."""
    h = hashlib.sha256()
    for path in (os.path.abspath(__file__), rfm_model.__file__):
        with open(path, "rb") as f:
            h.update(f.read())
    h.update(repr((args.steps, sorted(args.case or CASES), torch.__version__, sys.version)).encode())
    return h.hexdigest()[:24]


def run_case(out, name, steps, done):
    """Writes the case's files; `done` maps a PyTorch trajectory (everything but our side's
    convolutions) to the folder that already holds it, which is then copied, not rerun."""
    attention, centre_weight, seed, precision, case_steps, convolutions = CASES[name]
    steps = case_steps or steps
    dtype = torch.float64 if precision == "FP64" else torch.float32
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.pbtxt"), "w") as f:
        f.write(config_text(attention, centre_weight, steps, precision, convolutions))
    trajectory = (attention, centre_weight, seed, precision, steps)
    if trajectory in done:
        for file in TRAJECTORY_FILES:
            link_or_copy(os.path.join(done[trajectory], file), os.path.join(out, file))
        print(f"{name}: PyTorch's side is {os.path.basename(done[trajectory])}'s")
        return
    done[trajectory] = out
    torch.manual_seed(seed)
    model = rfm_model.RfmModel(DEPTH, IDENTITIES, PARTS, PART_DIM, attention=attention, metric_before_bn=True)
    stats = {k: v.float().std() if v.numel() > 1 else v.float().abs()
             for k, v in model.state_dict().items() if v.is_floating_point()}
    torch.save(stats, os.path.join(out, "init_stats.pt"))
    model = model.to(dtype)
    torch.save(model.state_dict(), os.path.join(out, "init.pt"))
    images, labels, modality = make_batches(steps, 100 + seed)
    torch.save({"images": images, "labels": labels, "modality": modality}, os.path.join(out, "batches.pt"))

    params = list(model.parameters())
    optimizer = torch.optim.SGD(params, lr=f32(LR), momentum=f32(MOMENTUM), weight_decay=f32(WEIGHT_DECAY))
    # As our trainer: [0, 1] in float32 (where LTG would run), normalised in the model's dtype.
    mean, std = torch.tensor(MEAN).view(1, 3, 1, 1).to(dtype), torch.tensor(STD).view(1, 3, 1, 1).to(dtype)
    history = {k: [] for k in ("total", "id", "triplet", "centre", "modality_id", "grad_norm", "lr")}
    model.train()
    for s in range(steps):
        x = ((images[s].float() / 255.0).to(dtype) - mean) / std
        terms = rfm_loss(model(x, modality[s]), labels[s], modality[s], centre_weight)
        optimizer.zero_grad(set_to_none=True)
        terms["total"].backward()
        grad_norm = torch.stack([p.grad.norm() for p in params if p.grad is not None]).norm()
        if s == 0:
            torch.save({k: v.grad for k, v in model.named_parameters() if v.grad is not None},
                       os.path.join(out, "gradients0.pt"))
        optimizer.step()
        for k in ("total", "id", "triplet", "centre", "modality_id"):
            history[k].append(float(terms[k]))
        history["grad_norm"].append(float(grad_norm))
        history["lr"].append(optimizer.param_groups[0]["lr"])
    torch.save({k: torch.tensor(v, dtype=torch.float64) for k, v in history.items()}, os.path.join(out, "expected.pt"))
    torch.save(model.state_dict(), os.path.join(out, "final.pt"))
    print(f"{name}: loss {history['total'][0]:.4f} -> {history['total'][-1]:.4f} in {steps} steps, "
          f"grad norm at step 0 {history['grad_norm'][0]:.3f}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--case", action="append", choices=sorted(CASES))
    p.add_argument("--cache", help="keep and reuse the result under this folder")
    a = p.parse_args()
    cached = os.path.join(a.cache, cache_key(a)) if a.cache else None
    # Cached files are hard links: writing over one in place would change the cache.
    shutil.rmtree(a.out, ignore_errors=True)
    if cached and os.path.isdir(cached):
        link_tree(cached, a.out)
        os.utime(cached)  # the newest used stays longest
        print(f"PyTorch's side from the cache: {cached}")
        return
    torch.set_num_threads(1)
    done = {}
    for name in a.case or sorted(CASES):
        run_case(os.path.join(a.out, name), name, a.steps, done)
    if cached:
        # Filled beside, then renamed: a run stopped half-way leaves no entry that looks whole.
        os.makedirs(a.cache, exist_ok=True)
        partial = tempfile.mkdtemp(dir=a.cache, prefix=".partial-")
        link_tree(a.out, partial)
        try:
            os.rename(partial, cached)
        except OSError:  # another build stored the same result first
            shutil.rmtree(partial, ignore_errors=True)
        entries = sorted((e for e in os.scandir(a.cache) if e.is_dir() and not e.name.startswith(".")),
                         key=lambda e: e.stat().st_mtime, reverse=True)
        stale = [e for e in os.scandir(a.cache) if e.name.startswith(".partial-")
                 and time.time() - e.stat().st_mtime > 3600]
        for old in entries[KEEP_CACHED:] + stale:
            shutil.rmtree(old.path, ignore_errors=True)
        print(f"stored in the cache: {cached}")


if __name__ == "__main__":
    main()
