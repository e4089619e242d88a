#!/usr/bin/env python3
"""PyTorch reference for `leaflens train` throughput: images/s, torchvision resnet18 (width 64, 38 classes),
SGD(lr 0.01, momentum 0.9), on N threads (default 2).

Two ways to feed it:

    --data DIR   PyTorch's normal pipeline over the same PNG/JPEG files LeafLens trains on (like for like):
                 torchvision ImageFolder + the transforms `leaflens train` applies + DataLoader(shuffle),
                 timed over whole epochs for each --workers count (default 0, 1, 2); the best is reported.
                 full: RandomResizedCrop(S, scale=(--min-crop-scale, 1)) + RandomHorizontalFlip + ToTensor
                       + Normalize; model.train(); forward → cross-entropy → backward → step per batch.
                 head: Resize(--resize) + CenterCrop(S) + ToTensor + Normalize; model.eval(); the backbone's
                       features of every image once under no_grad (the cache), then one epoch of fc steps
                       over them — images/s = images / (features + fc epoch), as LeafLens's head mode.
    (no --data)  random tensors already in memory (no decoding): an upper bound for PyTorch, not like for like.

    python3 scripts/bench_training.py --data DATA/img --batch-size 32 [--workers 0,1,2] [--epochs 1] [--json]
    python3 scripts/bench_training.py [--threads 2] [--batches 5] [--json]
"""

from __future__ import annotations

import argparse
import importlib
import json
import pathlib
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "fixtures"))
import common  # noqa: E402


def torchvision_data_modules():
    """`torchvision.transforms` and `torchvision.datasets.folder`, even when `import torchvision` fails here
    (its package __init__ registers kernels for compiled detection ops CPU torch lacks): the packages are
    registered bare, as common.torchvision_resnet_module does, and only these submodules run."""
    try:
        import torchvision.transforms as transforms
        import torchvision.datasets.folder as folder
        return transforms, folder
    except Exception:  # RuntimeError: operator torchvision::nms does not exist
        pass
    common.register_bare_torchvision("datasets")
    return importlib.import_module("torchvision.transforms"), importlib.import_module("torchvision.datasets.folder")


def data_pipeline(args) -> dict:
    """Like for like with `leaflens train --data DIR`: images/s over whole epochs, best worker count. The
    loader is torchvision's PIL loader (its default image backend), passed explicitly because the bare
    package registered above has no get_image_backend."""
    transforms, folder = torchvision_data_modules()
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    train_transform = transforms.Compose([
        transforms.RandomResizedCrop(args.size, scale=(args.min_crop_scale, 1.0)),
        transforms.RandomHorizontalFlip(), transforms.ToTensor(), normalize])
    eval_transform = transforms.Compose([
        transforms.Resize(args.resize), transforms.CenterCrop(args.size), transforms.ToTensor(), normalize])
    workers = [int(w) for w in args.workers.split(",")]
    results = {"full": {}, "head": {}}
    for w in workers:
        loader_args = {"batch_size": args.batch_size, "num_workers": w, "persistent_workers": False}
        # full fine-tuning
        torch.manual_seed(0)
        model = common.resnet18_architecture(38, 64)
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        data = folder.ImageFolder(args.data, transform=train_transform, loader=folder.pil_loader)
        loader = torch.utils.data.DataLoader(data, shuffle=True, **loader_args)
        # One untimed warm-up step (oneDNN builds its primitives on the first call; over a real epoch that
        # cost vanishes, so leaving it out favours PyTorch on small data sets).
        x, y = next(iter(loader))
        F.cross_entropy(model(x), y).backward()
        optimizer.zero_grad()
        start, images = time.perf_counter(), 0
        for _ in range(args.epochs):
            for x, y in loader:
                optimizer.zero_grad()
                F.cross_entropy(model(x), y).backward()
                optimizer.step()
                images += len(y)
        results["full"][w] = images / (time.perf_counter() - start)
        # head: features once, then fc epochs over the cache
        model.eval()
        backbone = nn.Sequential(*list(model.children())[:-1])
        head = model.fc
        head_optimizer = torch.optim.SGD(head.parameters(), lr=0.01, momentum=0.9)
        data = folder.ImageFolder(args.data, transform=eval_transform, loader=folder.pil_loader)
        loader = torch.utils.data.DataLoader(data, shuffle=False, **loader_args)
        with torch.no_grad():
            backbone(next(iter(loader))[0])  # warm-up, untimed
        start = time.perf_counter()
        features, labels = [], []
        with torch.no_grad():
            for x, y in loader:
                features.append(torch.flatten(backbone(x), 1))
                labels.append(y)
        features, labels = torch.cat(features), torch.cat(labels)
        feature_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(args.epochs):
            order = torch.randperm(len(labels))
            for b in range(0, len(labels), args.batch_size):
                index = order[b:b + args.batch_size]
                head_optimizer.zero_grad()
                F.cross_entropy(head(features[index]), labels[index]).backward()
                head_optimizer.step()
        # Each image once: its features, then one fc epoch (the mean over --epochs), as LeafLens's head mode
        # reports images / feature_seconds (its fc epochs add under 1 ms).
        fc_epoch_seconds = (time.perf_counter() - start) / args.epochs
        results["head"][w] = len(labels) / (feature_seconds + fc_epoch_seconds)
        print(f"workers {w}: full {results['full'][w]:.2f} img/s, head {results['head'][w]:.2f} img/s",
              file=sys.stderr)
    best = {mode: max(rates, key=rates.get) for mode, rates in results.items()}
    return {"framework": f"torch {torch.__version__}", "threads": args.threads, "batch": args.batch_size,
            "size": args.size, "data": args.data, "images": len(data), "epochs": args.epochs,
            "per_workers": results, "best_workers": best,
            "full_images_per_second": results["full"][best["full"]],
            "head_images_per_second": results["head"][best["head"]]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batches", type=int, default=5, help="timed batches after one warm-up batch (no --data)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--data", help="an ImageFolder directory: time PyTorch's own pipeline over its files")
    parser.add_argument("--workers", default="0,1,2", help="DataLoader num_workers values to try (with --data)")
    parser.add_argument("--epochs", type=int, default=1, help="timed epochs per worker count (with --data)")
    parser.add_argument("--resize", type=int, default=None, help="head mode's Resize (default: --size)")
    parser.add_argument("--min-crop-scale", type=float, default=0.08, help="RandomResizedCrop's smallest area share")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.data:
        args.resize = args.resize or args.size
        result = data_pipeline(args)
        if args.json:
            print(json.dumps(result))
        else:
            print(f"PyTorch {torch.__version__}, {args.threads} threads, batch {args.batch_size}, {args.size}px, "
                  f"{result['images']} images of {args.data}: full {result['full_images_per_second']:.2f} img/s "
                  f"(num_workers {result['best_workers']['full']}), head {result['head_images_per_second']:.2f} "
                  f"img/s (num_workers {result['best_workers']['head']})")
        return 0
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
