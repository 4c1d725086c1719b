"""The RFM network of rfm-cluster, written in plain PyTorch.

It has the C++ model's module tree and parameter names (``backbone.layer3.1.conv2.weight``,
``mam.visible_stage.0.bn1.running_mean``, ``head.reducers.0.weight``, ...), so a state dict
moves between the two unchanged, and the same forward: torchvision's ResNet to block 3, MAM's
modality-specific layer4 copies whose sigmoid maps re-weight the block-3 map (or layer4 with
optional CBAM spatial attention), K-stripe PCB pooling, per part FC -> BN -> classifier.

The initialisation is ours too: torchvision's for the ResNet, N(0, 0.001) classifiers, and the
part FCs as the configuration's ``model.part_fc_init`` says (``pytorch``, PyTorch's default
``nn.Linear`` init, or ``kaiming_fan_out``, PCB's ``weights_init_kaiming``).

A trained model leaves rfm-cluster with ``rfm export`` and comes back here:

    import rfm_model
    model = rfm_model.load_exported("model.safetensors")   # or model.pth (+ model.pth.json)
    features = rfm_model.embed(model, images_uint8_nchw, modality)   # 0 visible, 1 infrared
"""
import copy
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision


def _stride_one(stage):
    """torchvision's layer4 with its first block at stride 1 (PCB's last stride)."""
    first = stage[0]
    (first.conv2 if isinstance(first, torchvision.models.resnet.Bottleneck) else first.conv1).stride = (1, 1)
    if first.downsample is not None:
        first.downsample[0].stride = (1, 1)
    return stage


class Backbone(nn.Module):
    """torchvision's ResNet without its classifier; layer4 only where the model uses it."""

    def __init__(self, depth, last_stride=1, with_layer4=True):
        super().__init__()
        net = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34, 50: torchvision.models.resnet50}[depth]()
        self.conv1, self.bn1, self.layer1, self.layer2, self.layer3 = net.conv1, net.bn1, net.layer1, net.layer2, net.layer3
        self.layer4 = None
        if with_layer4:
            self.layer4 = _stride_one(net.layer4) if last_stride == 1 else net.layer4

    def forward_to_layer3(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        return self.layer3(self.layer2(self.layer1(x)))


def stage_channels(depth, stage):
    return (64 << (stage - 1)) * (4 if depth == 50 else 1)


class ModalityAwareAttention(nn.Module):
    """Eq. 7: a layer4 copy per modality; its channel mean through a sigmoid is the map."""

    def __init__(self, depth, classes):
        super().__init__()
        net = {18: torchvision.models.resnet18, 34: torchvision.models.resnet34, 50: torchvision.models.resnet50}[depth]()
        self.visible_stage = _stride_one(net.layer4)
        self.infrared_stage = copy.deepcopy(self.visible_stage)
        c = stage_channels(depth, 4)
        self.visible_bn, self.infrared_bn = nn.BatchNorm1d(c), nn.BatchNorm1d(c)
        self.visible_classifier = nn.Linear(c, classes, bias=False)
        self.infrared_classifier = nn.Linear(c, classes, bias=False)
        nn.init.normal_(self.visible_classifier.weight, 0.0, 0.001)
        nn.init.normal_(self.infrared_classifier.weight, 0.0, 0.001)

    def forward(self, block3, modality):
        attention = torch.zeros(block3.size(0), 1, block3.size(2), block3.size(3), dtype=block3.dtype)
        branches = []
        for m, stage, bn, classifier in ((0, self.visible_stage, self.visible_bn, self.visible_classifier),
                                         (1, self.infrared_stage, self.infrared_bn, self.infrared_classifier)):
            index = (modality == m).nonzero().squeeze(1)
            if index.numel() == 0:
                branches.append((None, index))
                continue
            high = stage(block3.index_select(0, index))
            attention = attention.index_copy(0, index, torch.sigmoid(high.mean(1, keepdim=True)))
            branches.append((classifier(bn(high.mean((2, 3)))), index))
        return attention, branches


class SpatialAttention(nn.Module):
    """CBAM's spatial attention [43]: sigmoid(conv7x7([mean_c; max_c]))."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, 7, padding=3, bias=False)

    def forward(self, x):
        return torch.sigmoid(self.conv(torch.cat([x.mean(1, keepdim=True), x.amax(1, keepdim=True)], 1)))


class PcbHead(nn.Module):
    def __init__(self, in_channels, classes, parts, part_dim):
        super().__init__()
        self.parts = parts
        self.reducers = nn.ModuleList(nn.Linear(in_channels, part_dim, bias=False) for _ in range(parts))
        self.norms = nn.ModuleList(nn.BatchNorm1d(part_dim) for _ in range(parts))
        self.classifiers = nn.ModuleList(nn.Linear(part_dim, classes, bias=False) for _ in range(parts))
        for c in self.classifiers:
            nn.init.normal_(c.weight, 0.0, 0.001)

    def forward(self, feature):
        pooled = F.adaptive_avg_pool2d(feature, (self.parts, 1)).squeeze(-1)
        reduced, normalized, logits = [], [], []
        for k in range(self.parts):
            h = self.reducers[k](pooled[:, :, k])
            f = self.norms[k](h)
            reduced.append(h)
            normalized.append(f)
            logits.append(self.classifiers[k](f))
        return torch.stack(reduced, 1), torch.stack(normalized, 1), torch.stack(logits, 0)


class RfmModel(nn.Module):
    """attention: 'none', 'mam' or 'spatial' (the configuration's model.attention)."""

    def __init__(self, depth=18, classes=40, parts=4, part_dim=64, attention="mam", last_stride=1,
                 metric_before_bn=True, reweighting="plain", part_fc_init="pytorch"):
        super().__init__()
        self.attention, self.metric_before_bn, self.reweighting = attention, metric_before_bn, reweighting
        self.backbone = Backbone(depth, last_stride, with_layer4=attention != "mam")
        if attention == "mam":
            self.mam = ModalityAwareAttention(depth, classes)
        elif attention == "spatial":
            self.spatial = SpatialAttention()
        self.head = PcbHead(stage_channels(depth, 3 if attention == "mam" else 4), classes, parts, part_dim)
        if part_fc_init == "kaiming_fan_out":
            for fc in self.head.reducers:
                nn.init.kaiming_normal_(fc.weight, 0.0, mode="fan_out", nonlinearity="relu")
        elif part_fc_init != "pytorch":
            raise ValueError("part_fc_init must be pytorch or kaiming_fan_out, got " + part_fc_init)

    def reweight(self, block3, attention):
        """Eq. 7's re-weighting of the block-3 map by MAM's attention (model.mam_reweighting)."""
        return block3 * attention if self.reweighting == "plain" else block3 * (attention + 1.0)

    def forward(self, images, modality):
        """Returns (metric features [N, K, D], part logits [K, N, C], embedding [N, K*D],
        [(visible logits, index), (infrared logits, index)] or [])."""
        block3 = self.backbone.forward_to_layer3(images)
        branches = []
        if self.attention == "mam":
            attention, branches = self.mam(block3, modality)
            feature = self.reweight(block3, attention)
        else:
            feature = self.backbone.layer4(block3)
            if self.attention == "spatial":
                feature = feature * self.spatial(feature)
        reduced, normalized, logits = self.head(feature)
        return (reduced if self.metric_before_bn else normalized), logits, normalized.flatten(1), branches


def read_safetensors(path):
    """(state dict, metadata) of a safetensors file, read by the safetensors library (imported
    here, so that the model and .pth files need torch alone)."""
    from safetensors import safe_open

    with safe_open(path, framework="pt", device="cpu") as f:
        return {name: f.get_tensor(name) for name in f.keys()}, (f.metadata() or {})


def load_exported(path):
    """The network of an `rfm export` file, in eval mode: a .safetensors file (its metadata
    names the architecture) or a .pth (torch.load gives the state dict; the architecture is in
    PATH.json).  Its test transform is in model.transform: height, width, mean, std and
    flip_average, for embed()."""
    if path.endswith(".safetensors"):
        state, meta = read_safetensors(path)
    else:
        state = torch.load(path, map_location="cpu", weights_only=True)
        with open(path + ".json") as f:
            meta = json.load(f)
    if meta.get("rfm.mam_part_source", "block3") != "block3":
        raise ValueError(f"{path}: MAM part source {meta['rfm.mam_part_source']} is not built here")
    model = RfmModel(depth=int(meta["rfm.depth"]), classes=int(meta["rfm.num_classes"]),
                     parts=int(meta["rfm.num_parts"]), part_dim=int(meta["rfm.part_dim"]),
                     attention=meta["rfm.attention"], last_stride=int(meta["rfm.last_stride"]),
                     metric_before_bn=meta["rfm.metric_feature"] == "before_bn",
                     reweighting=meta["rfm.mam_reweighting"])
    model.load_state_dict(state, strict=True)
    model.eval()
    model.transform = {"height": int(meta["rfm.height"]), "width": int(meta["rfm.width"]),
                       "mean": [float(v) for v in meta["rfm.mean"].split()],
                       "std": [float(v) for v in meta["rfm.std"].split()],
                       "flip_average": meta["rfm.flip_average"] == "true"}
    return model


@torch.no_grad()
def embed(model, images, modality):
    """Embeddings [N, K*D] (not normalised) as `rfm embed` and `rfm evaluate` compute them:
    images uint8 [N, 3, H, W] at the model's size, modality [N] (0 visible, 1 infrared)."""
    t = model.transform
    mean = torch.tensor(t["mean"], dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(t["std"], dtype=torch.float32).view(1, 3, 1, 1)
    x = (images.float() / 255.0 - mean) / std
    emb = model(x, modality)[2]
    if t["flip_average"]:
        emb = (emb + model(x.flip(3), modality)[2]) * 0.5
    return emb
