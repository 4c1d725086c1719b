#!/usr/bin/env python3
"""Writes an ONNX model of an `rfm export` file, for serving without rfm or PyTorch.

    python3 python/export_onnx.py model.safetensors model.onnx      # or model.pth (+ model.pth.json)

The ONNX graph is the whole test-time path of `rfm embed`: it takes

    images    uint8 [N, 3, H, W]  RGB at the model's size (H x W: the export's rfm.height, rfm.width)
    modality  int64 [N]           0 visible, 1 infrared

and gives `embedding` float32 [N, K*D], the features `rfm embed` and `rfm evaluate` compute
(normalisation, and the flip average when the model was trained with it, are inside the
graph). N is dynamic.  onnxruntime reproduces our features to 1e-4
(tests/export_embed_search_test.sh).

MAM picks each image's layer4 copy by its modality.  PyTorch's model gathers each modality's
images, which gives a graph whose shape depends on the batch's modalities; here every image
goes through both copies and each keeps its own modality's map (torch.where), which costs one
more layer4 per image at inference and gives the same features (eval-mode batch norm treats
every image alone).
"""
import argparse
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rfm_model  # noqa: E402


class Embedder(nn.Module):
    """uint8 images + modality -> the embedding of rfm_model.embed, in one traceable graph."""

    def __init__(self, model):
        super().__init__()
        self.model = model
        t = model.transform
        self.register_buffer("mean", torch.tensor(t["mean"], dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(t["std"], dtype=torch.float32).view(1, 3, 1, 1))
        self.flip_average = t["flip_average"]

    def features(self, x, modality):
        m = self.model
        if m.attention != "mam":
            return m(x, modality)[2]  # no modality-dependent shapes: the model's own forward
        block3 = m.backbone.forward_to_layer3(x)
        visible = torch.sigmoid(m.mam.visible_stage(block3).mean(1, keepdim=True))
        infrared = torch.sigmoid(m.mam.infrared_stage(block3).mean(1, keepdim=True))
        attention = torch.where((modality == 1).view(-1, 1, 1, 1), infrared, visible)
        return m.head(m.reweight(block3, attention))[1].flatten(1)

    def forward(self, images, modality):
        x = (images.float() / 255.0 - self.mean) / self.std
        embedding = self.features(x, modality)
        if self.flip_average:
            embedding = (embedding + self.features(x.flip(3), modality)) * 0.5
        return embedding


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("exported", help="an `rfm export` file: .safetensors, or .pth with its .json")
    parser.add_argument("out", help="the ONNX file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    args = parser.parse_args()
    try:
        model = rfm_model.load_exported(args.exported)
    except (OSError, ValueError, KeyError, RuntimeError) as e:
        sys.exit(f"export_onnx.py: {args.exported}: {e}")
    embedder = Embedder(model).eval()
    t = model.transform
    images = torch.zeros(2, 3, t["height"], t["width"], dtype=torch.uint8)
    modality = torch.tensor([0, 1], dtype=torch.int64)
    with torch.no_grad():
        torch.onnx.export(embedder, (images, modality), args.out, dynamo=False, opset_version=args.opset,
                          input_names=["images", "modality"], output_names=["embedding"],
                          dynamic_axes={"images": {0: "batch"}, "modality": {0: "batch"}, "embedding": {0: "batch"}})
    print(f"wrote {args.out}: images uint8 [N, 3, {t['height']}, {t['width']}] + modality int64 [N] -> "
          f"embedding float32 [N, {model.head.parts * model.head.norms[0].num_features}]")


if __name__ == "__main__":
    main()
