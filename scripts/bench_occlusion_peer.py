#!/usr/bin/env python3
"""Captum 0.9 Occlusion on one 224×224 input, for the approximate-occlusion comparison (BENCHMARKS.md, issue 16 item 3).

    python3 scripts/bench_occlusion_peer.py WEIGHTS.safetensors WINDOW:STRIDE [WINDOW:STRIDE …] [--iterations N] [--warmup W]

WEIGHTS is a LeafLens/torchvision-named ResNet18 state_dict in safetensors (any base width, any class count:
`leaflens train` writes one), loaded into torchvision's ResNet code. Each WINDOW:STRIDE times
`Occlusion(model).attribute(x, sliding_window_shapes=(3, W, W), strides=(3, S, S), baselines=0, target=0,
perturbations_per_eval=32)` — the setting BENCHMARKS.md compares against — N times (default 3) after W
warm-up runs (default 1), with torch.set_num_threads(2), and prints the median, min and max in ms. The input is the seeded
[1, 3, 224, 224] tensor of Fixtures/README.md (Captum's time depends on the shapes, not the values).
"""
import json
import pathlib
import statistics
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from fixtures import common  # noqa: E402


def load_safetensors(path):
    data = pathlib.Path(path).read_bytes()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + size])
    types = {"F32": np.float32, "F64": np.float64, "I64": np.int64}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        start, end = entry["data_offsets"]
        array = np.frombuffer(data[8 + size + start:8 + size + end], dtype=types[entry["dtype"]])
        tensors[name] = torch.from_numpy(array.reshape(entry["shape"]).copy())
    return tensors


def main():
    args = sys.argv[1:]
    options = {"--iterations": 3, "--warmup": 1}
    for flag in options:
        if flag in args:
            i = args.index(flag)
            options[flag] = int(args[i + 1])
            del args[i:i + 2]
    iterations, warmup = options["--iterations"], options["--warmup"]
    if len(args) < 2:
        sys.exit(__doc__)
    torch.set_num_threads(2)
    state = load_safetensors(args[0])
    width, classes = state["conv1.weight"].shape[0], state["fc.weight"].shape[0]
    model = common.resnet18_architecture(classes, width)
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()}, strict=False)
    model.float().eval()
    occlusion = common.import_captum_attr().Occlusion(model)
    x = common.seeded_input(2003, 1, 224, 224)
    for setting in args[1:]:
        window, stride = (int(v) for v in setting.split(":"))

        def run():
            with torch.no_grad():
                occlusion.attribute(x, sliding_window_shapes=(3, window, window), strides=(3, stride, stride),
                                    baselines=0, target=0, perturbations_per_eval=32)

        for _ in range(warmup):
            run()
        times = []
        for _ in range(iterations):
            start = time.perf_counter()
            run()
            times.append((time.perf_counter() - start) * 1e3)
        print(f"captum occlusion window {window} stride {stride} (ppe 32): median {statistics.median(times):.0f} ms "
              f"(min {min(times):.0f}, max {max(times):.0f}, {iterations} runs)")


if __name__ == "__main__":
    main()
