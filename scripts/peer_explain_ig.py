#!/usr/bin/env python3
"""The Python side of scripts/bench-compare's `ig-process` case: what a Captum user's script does to explain
one photo, as one whole process (its wall time, import included, is the measurement; this script times
nothing itself).

    python3 scripts/peer_explain_ig.py --weights W.pth --image IMG.png --out A.npy [--steps 50]
        [--internal-batch-size 8] [--classes 38]

Steps: import torch, torchvision's ResNet and Captum; build torchvision's resnet18 and load the
state_dict (`torch.load(weights_only=True)`); decode the PNG and preprocess it as torchvision's
`Resize(256)`, `CenterCrop(224)`, `ToTensor()`, `Normalize(ImageNet)`; predict the class; Captum
`IntegratedGradients(model).attribute(x, target=predicted, n_steps=--steps, method="gausslegendre",
internal_batch_size=…)` with a zero baseline; save the attributions as .npy. The LeafLens side is
`leaflens explain IMG --method integrated-gradients --weights W.pth`, which does all of that and also draws
its heat maps, panel and JSON record.

`import torchvision` fails on this CPU-only torch (its compiled detection ops do not register), so, as
scripts/fixtures/common.py does, the `torchvision` package is registered bare (its __init__ not run) and only
the ResNet and transforms modules beneath it are imported: a shorter import than a working torchvision's, i.e. in the peer's favour.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import types


def bare_torchvision(*subpackages: str) -> None:
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        del sys.modules[name]
    spec = importlib.util.find_spec("torchvision")
    root = types.ModuleType("torchvision")
    root.__path__ = list(spec.submodule_search_locations)
    sys.modules["torchvision"] = root
    for sub in subpackages:
        module = types.ModuleType(f"torchvision.{sub}")
        module.__path__ = [f"{root.__path__[0]}/{sub}"]
        sys.modules[f"torchvision.{sub}"] = module
        setattr(root, sub, module)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--weights", required=True)
    p.add_argument("--image", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--internal-batch-size", default="8", help="an integer, or none")
    p.add_argument("--classes", type=int, default=38)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()

    import numpy as np
    import torch
    from PIL import Image

    torch.set_num_threads(args.threads)
    try:
        import torchvision.models.resnet as resnet
        import torchvision.transforms as T
    except Exception:  # RuntimeError: operator torchvision::nms does not exist
        bare_torchvision("models")
        resnet = importlib.import_module("torchvision.models.resnet")
        T = importlib.import_module("torchvision.transforms")
    from captum.attr import IntegratedGradients

    model = resnet.ResNet(resnet.BasicBlock, [2, 2, 2, 2], num_classes=args.classes, width_per_group=64)
    model.load_state_dict(torch.load(args.weights, weights_only=True), strict=True)
    model.eval()

    preprocess = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                            T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
    x = preprocess(Image.open(args.image).convert("RGB")).unsqueeze(0)
    with torch.no_grad():
        target = int(model(x).argmax(1))
    batch = None if args.internal_batch_size.lower() == "none" else int(args.internal_batch_size)
    attributions = IntegratedGradients(model).attribute(
        x, baselines=0.0, target=target, n_steps=args.steps, method="gausslegendre", internal_batch_size=batch)
    np.save(args.out, attributions.detach().numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
