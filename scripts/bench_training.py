#!/usr/bin/env python3
"""PyTorch reference for `leaflens train` throughput: images/s at 224×224, torchvision resnet18 (width 64,
38 classes), SGD(lr 0.01, momentum 0.9), batch 16, on N threads (default 2).

    full: model.train(); forward → cross-entropy → backward → step, per batch of 16
    head: model.eval(); features = backbone under no_grad (once per image), then an fc step on them

    python3 scripts/bench_training.py [--threads 2] [--batches 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "fixtures"))
import common  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, default=5, help="timed batches after one warm-up batch")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = common.resnet18_architecture(38, 64)
    x = torch.randn(args.batch_size, 3, args.size, args.size)
    y = torch.randint(0, 38, (args.batch_size,))

    model.train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def full_step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    full_step()
    start = time.perf_counter()
    for _ in range(args.batches):
        full_step()
    full = args.batches * args.batch_size / (time.perf_counter() - start)

    model.eval()
    backbone = nn.Sequential(*list(model.children())[:-1])
    head = model.fc
    head_optimizer = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9)

    def head_step():
        with torch.no_grad():
            features = torch.flatten(backbone(x), 1)
        head_optimizer.zero_grad()
        F.cross_entropy(head(features), y).backward()
        head_optimizer.step()

    head_step()
    start = time.perf_counter()
    for _ in range(args.batches):
        head_step()
    headrate = args.batches * args.batch_size / (time.perf_counter() - start)
    result = {"framework": f"torch {torch.__version__}", "threads": args.threads, "batch": args.batch_size,
              "size": args.size, "full_images_per_second": full, "head_images_per_second": headrate}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"PyTorch {torch.__version__}, {args.threads} threads, batch {args.batch_size}, {args.size}x{args.size}: "
              f"full {full:.2f} img/s, head (features + fc step) {headrate:.2f} img/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
