#!/usr/bin/env python3
"""Is LeafLens's float32 error PyTorch's size? Over many draws, not one fixture case.

For the float64 fixtures' seeded networks (ResNet18 width 8, resnet34, resnet50), 16 seeded inputs
(seed 3000, 16×3×64×48): LeafLens's float32 layer4 activation and logits (exported by the test
`Float32SpreadExport`, which this script runs) and PyTorch's float32, each against PyTorch's float64.
Prints the relative L2 of layer4 and of the logits, and for every (image, class) pair the error of
Grad-CAM's raw map at layer4 — the projection of layer4's error on the class's fc row (exact gradient
weights, h·w numbers) — as the median for each library and the share of pairs where LeafLens's exceeds
twice PyTorch's (what `DerivedBound` would call a failure on that pair).

    python3 scripts/float32_spread.py [--no-build]
"""

from __future__ import annotations

import argparse
import copy
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import torch

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "fixtures"))
import common  # noqa: E402
import float64  # noqa: E402


def layer4_and_logits(model, x):
    saved = {}
    handle = model.layer4.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o.detach()))
    with torch.no_grad():
        logits = model(x)
    handle.remove()
    return saved["a"].double().numpy(), logits.double().numpy()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-build", action="store_true", help="use the existing test build")
    args = parser.parse_args()
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as out:
        swift = ["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing", "--filter", "Float32SpreadExport"]
        if args.no_build:
            swift.insert(2, "--skip-build")
        subprocess.run(swift, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       env={**os.environ, "LEAFLENS_FLOAT32_SPREAD_DIR": out})
        x = common.seeded_input(3000, 16, 64, 48)
        for name in ("seeded", "resnet34", "resnet50"):
            model = float64.seeded_case()[0] if name == "seeded" else float64.depth_case(name)[0]
            a64, o64 = layer4_and_logits(copy.deepcopy(model).double(), x.double())
            a32, o32 = layer4_and_logits(model, x)
            ll = np.load(pathlib.Path(out) / f"{name}.layer4.npy").astype(np.float64)
            llo = np.load(pathlib.Path(out) / f"{name}.logits.npy").astype(np.float64)
            w = model.fc.weight.detach().double().numpy()
            area = a64.shape[2] * a64.shape[3]

            def projection_errors(a):
                errors = []
                for n in range(a.shape[0]):
                    for t in range(w.shape[0]):
                        exact = np.tensordot(w[t] / area, a64[n], axes=(0, 0))
                        errors.append(np.linalg.norm(np.tensordot(w[t] / area, a[n] - a64[n], axes=(0, 0)))
                                      / np.linalg.norm(exact))
                return np.array(errors)

            def rel(a, b):
                return np.linalg.norm(a - b) / np.linalg.norm(b)

            pt, ours = projection_errors(a32), projection_errors(ll)
            print(f"{name}: layer4 PyTorch {rel(a32, a64):.2e} LeafLens {rel(ll, a64):.2e}; logits PyTorch "
                  f"{rel(o32, o64):.2e} LeafLens {rel(llo, o64):.2e}; Grad-CAM raw map over {len(pt)} "
                  f"(image, class) pairs: median PyTorch {np.median(pt):.2e} LeafLens {np.median(ours):.2e}, "
                  f"LeafLens > 2 × PyTorch in {np.mean(ours > 2 * pt) * 100:.0f}%, "
                  f"PyTorch > 2 × LeafLens in {np.mean(pt > 2 * ours) * 100:.0f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
