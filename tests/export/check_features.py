#!/usr/bin/env python3
"""PyTorch's features of the images `rfm embed` embedded, from the files `rfm export` wrote,
must equal ours (tests/export_embed_search_test.sh).

  check_features.py FEATURE_DIR IMAGE_DIR EXPORTED_FILE...

For each exported file (.safetensors, read by the safetensors library, or .pth with its .json)
python/rfm_model.py builds the network and loads the state dict (strict), then embeds every
image of FEATURE_DIR's gallery_paths.txt (PNG, read with torchvision, at the model's size) as
the modality that gallery_modalities.txt names; each row must be within 1e-4 (max |difference| /
max |value|) of gallery.npy's.  An .onnx file (python/export_onnx.py's) is run by onnxruntime,
on all images at once and one image at a time (its batch is dynamic), to the same 1e-4.  The grey images (names starting "grey") must have been embedded as infrared,
the others as visible.
"""
import os
import sys

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
import rfm_model  # noqa: E402

feature_dir, image_dir, exported = sys.argv[1], sys.argv[2], sys.argv[3:]
ours = np.load(os.path.join(feature_dir, "gallery.npy"))
paths = open(os.path.join(feature_dir, "gallery_paths.txt")).read().split("\n")[: ours.shape[0]]
modalities = open(os.path.join(feature_dir, "gallery_modalities.txt")).read().split()
failures = []
for p, m in zip(paths, modalities):
    expected = "infrared" if os.path.basename(p).startswith("grey") else "visible"
    if m != expected:
        failures.append(f"{p}: embedded as {m}, expected {expected}")
images = torch.stack([torchvision.io.read_image(os.path.join(image_dir, p), torchvision.io.ImageReadMode.RGB)
                      for p in paths])
modality = torch.tensor([1 if m == "infrared" else 0 for m in modalities])
torch.set_num_threads(1)


def onnx_features(path):
    import onnxruntime
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    whole = session.run(["embedding"], {"images": images.numpy(), "modality": modality.numpy()})[0]
    one_by_one = np.concatenate([session.run(["embedding"], {"images": images[i:i + 1].numpy(),
                                                              "modality": modality[i:i + 1].numpy()})[0]
                                 for i in range(images.shape[0])])
    if not np.allclose(whole, one_by_one, rtol=0, atol=1e-4 * np.abs(whole).max()):
        failures.append(f"{path}: onnxruntime's features of one image differ from those of the whole batch")
    return whole


for path in exported:
    if path.endswith(".onnx"):
        theirs = onnx_features(path)
    else:
        theirs = rfm_model.embed(rfm_model.load_exported(path), images, modality).numpy()
    if theirs.shape != ours.shape:
        failures.append(f"{path}: PyTorch's features are {theirs.shape}, ours {ours.shape}")
        continue
    error = float(np.abs(theirs - ours).max() / np.abs(ours).max())
    print(f"{os.path.basename(path)}: {ours.shape[0]} images, {ours.shape[1]}-d, worst relative difference {error:.2e}")
    if not error <= 1e-4:
        failures.append(f"{path}: PyTorch's features differ from ours by {error:.3e} (relative)")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
