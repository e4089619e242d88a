#!/usr/bin/env python3
"""Why Grad-CAM's pointing game on held-out synthetic leaves stays below 90 % (issue 13, item 5).

Re-implements `leaflens evaluate --explain grad-cam` in PyTorch on the bundled weights (torchvision's
ResNet at width 16; Grad-CAM with ReLU, bilinear upsampling to the 128-px frame; hit = maximum, first in
row-major order, within 9 px of a lesion pixel; 100 diseased images spread evenly, target = true class)
and varies the layer, the input resolution and multi-layer fusion (pytorch-grad-cam's aggregation:
per-layer min–max scaling, mean, rescale — `CAMFusion`).

    leaflens synth --out /tmp/p5/heldout --masks /tmp/p5/masks --per-class 50 --seed 424242 --size 128
    python3 scripts/pointing_game_study.py /tmp/p5/heldout /tmp/p5/masks
"""

import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from fixtures import common  # noqa: E402

LABELS = ["brown_spot", "healthy", "powdery_mildew", "rust", "vein_streak", "yellow_halo_spot"]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def main(data: pathlib.Path, masks: pathlib.Path, weights: pathlib.Path):
    torch.set_num_threads(1)
    model = common.resnet18_architecture(6, 16)
    model.load_state_dict(load_file(str(weights)))
    model.eval()
    acts = {}

    def hook(name):
        def f(module, inputs, output):
            if output.requires_grad:
                output.retain_grad()
            acts[name] = output
        return f

    for name in ("layer3", "layer4"):
        getattr(model, name).register_forward_hook(hook(name))

    every, diseased = [], []
    for c, name in enumerate(LABELS):
        for p in sorted((data / name).glob("*.png")):
            every.append((p, c))
            m = np.array(Image.open(masks / name / p.name).convert("RGB"))[:, :, 0] > 127
            if m.any():
                diseased.append((p, c, m))
    diseased = [diseased[k * len(diseased) // 100] for k in range(100)]

    def load(p, size):
        x = (torch.from_numpy(np.array(Image.open(p).convert("RGB")).astype(np.float32) / 255).permute(2, 0, 1)[None] - MEAN) / STD
        return x if size == 128 else F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)

    def cam(x, c, layer):
        x = x.clone().requires_grad_(True)
        out = model(x)
        model.zero_grad()
        out[0, c].backward()
        a, g = acts[layer], acts[layer].grad
        m = F.relu((g.mean(dim=(2, 3), keepdim=True) * a).sum(1, keepdim=True))
        return F.interpolate(m, size=(128, 128), mode="bilinear", align_corners=False)[0, 0].detach().numpy()

    def scale(m):
        m = np.maximum(m, 0) - np.maximum(m, 0).min()
        return m / (1e-7 + m.max())

    def hit(m, mask, r=9):
        y, x = divmod(int(np.argmax(m)), m.shape[1])
        ys, xs = np.nonzero(mask)
        return bool((((ys - y) ** 2 + (xs - x) ** 2) <= r * r).any())

    areas = [int(m.sum()) for _, _, m in diseased]
    print(f"lesion pixels (128-px frame): min {min(areas)}, median {np.median(areas)}, max {max(areas)}")
    for size in (128, 160, 192, 256):
        with torch.no_grad():
            accuracy = np.mean([int(model(load(p, size)).argmax()) == c for p, c in every])
        row = {layer: np.mean([hit(cam(load(p, size), c, layer), m) for p, c, m in diseased]) for layer in ("layer3", "layer4")}
        print(f"input {size}: accuracy {accuracy:.3f}, pointing game layer3 {row['layer3']:.2f}, layer4 {row['layer4']:.2f}")
    fused = np.mean([hit(scale(scale(cam(load(p, 128), c, "layer3")) + scale(cam(load(p, 128), c, "layer4"))), m)
                     for p, c, m in diseased])
    print(f"input 128: fused layer3+layer4 {fused:.2f}")


if __name__ == "__main__":
    root = pathlib.Path(__file__).resolve().parents[1]
    weights = pathlib.Path(sys.argv[3]) if len(sys.argv) > 3 else root / "Sources/leaflens/Resources/default.safetensors"
    main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), weights)
