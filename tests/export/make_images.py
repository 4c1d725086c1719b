#!/usr/bin/env python3
"""Writes PNG test images for tests/export_embed_search_test.sh: smooth colour images and grey
(R = G = B, as infrared cameras give) ones at HEIGHT x WIDTH, some in a subfolder, plus a
corrupt one on request.

  make_images.py DIR HEIGHT WIDTH [--corrupt]
"""
import os
import sys

import torch
import torch.nn.functional as F
import torchvision

out, height, width = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.makedirs(os.path.join(out, "more"), exist_ok=True)
g = torch.Generator().manual_seed(5)
for i in range(6):
    layout = F.interpolate(torch.rand(1, 3, 6, 3, generator=g), size=(height, width), mode="bilinear",
                           align_corners=False)[0]
    image = (layout.clamp(0, 1) * 255).round().to(torch.uint8)
    grey = i % 2 == 1
    if grey:
        image = image.float().mean(0, keepdim=True).round().to(torch.uint8).expand(3, -1, -1).contiguous()
    name = ("grey" if grey else "colour") + f"-{i}.png"
    torchvision.io.write_png(image, os.path.join(out, "more" if i >= 4 else "", name))
if "--corrupt" in sys.argv:
    with open(os.path.join(out, "broken.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"not a png at all")
