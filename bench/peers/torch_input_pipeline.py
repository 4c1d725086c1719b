#!/usr/bin/env python3
"""The peer of our training input pipeline in PyTorch (Python): a DataLoader
whose workers open each JPEG with PIL, resize it to the network's size
(bilinear), flip it at random, pad it by 10 and crop it back at random, and
hand over uint8 CHW tensors collated into a batch: what our loader's worker
threads do.  It loads exactly the batches of a plan written by our
benchmark (RFM_BENCH_PLAN=... build/bench/rfm_input_pipeline_bench), with
the same number of workers and prefetch depth (2 batches per worker).

  torch_input_pipeline.py --plan /tmp/plan.tsv --height 384 --workers 2

Prints one JSON line: images per second over the plan's batches after the
first two (the workers' start-up), and the seconds taken.
"""
import argparse
import json
import time

import torch
import torchvision.transforms as T
from PIL import Image

WARMUP_BATCHES = 2  # as bench/input_pipeline_bench.cpp


class PlanImages(torch.utils.data.Dataset):
    def __init__(self, items, height, width):
        self.items = items
        self.size = (width, height)
        self.transform = T.Compose([T.RandomHorizontalFlip(), T.Pad(10), T.RandomCrop((height, width)),
                                    T.PILToTensor()])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label, modality = self.items[i]
        with Image.open(path) as image:
            resized = image.convert("RGB").resize(self.size, Image.BILINEAR)
        return self.transform(resized), label, modality


def read_plan(path):
    """Every image of every batch, and each batch as indices into them."""
    items, batches = [], []
    with open(path) as f:
        for line in f:
            batch = []
            for field in line.split():
                file, label, modality = field.rsplit(",", 2)
                batch.append(len(items))
                items.append((file, int(label), int(modality)))
            if batch:
                batches.append(batch)
    if len(batches) <= WARMUP_BATCHES:
        raise SystemExit(f"{path}: {len(batches)} batches; the plan needs more than {WARMUP_BATCHES}")
    return items, batches


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--plan", required=True)
    p.add_argument("--height", type=int, default=384)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    items, batches = read_plan(a.plan)
    prefetch = {"prefetch_factor": 2} if a.workers > 0 else {}
    loader = torch.utils.data.DataLoader(PlanImages(items, a.height, a.height // 2), batch_sampler=batches,
                                         num_workers=a.workers, **prefetch)
    images, start = 0, None
    for i, (batch, _, _) in enumerate(loader):
        if i == WARMUP_BATCHES - 1:
            start = time.perf_counter()
        elif i >= WARMUP_BATCHES:
            images += batch.size(0)
    seconds = time.perf_counter() - start
    print(json.dumps({"images_per_s": images / seconds, "seconds": seconds, "images": images,
                      "workers": a.workers}))


if __name__ == "__main__":
    main()
