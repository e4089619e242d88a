#!/usr/bin/env python3
"""PyTorch / Captum CPU timings of the seeded full-width ResNet18 (38 classes), the yardstick for LeafLens.

Measures, after warm-up, median / min / max wall time in ms and nominal GFLOP/s of:
  forward_b1, forward_b16        forward pass, batch 1 and 16 (no grad)
  forward_input_grad_b1          forward + gradient of logits[0, target] w.r.t. the input, batch 1
  ig_gl50_ibs<B>, ig_gl50        Captum IntegratedGradients, gausslegendre, 50 steps, swept over Captum's
                                 internal_batch_size B = 8, 16, 25, 50 and None (ig_gl50); the table names
                                 the fastest setting (`ig_fastest` in --json), the one LeafLens is compared with
  gradcam_layer4_bilinear        LayerGradCam(model.layer4) + LayerAttribution.interpolate to 224², bilinear
  occlusion_w15_s8               Occlusion window (3,15,15), strides (3,8,8), baselines 0, perturbations_per_eval 32

Nominal FLOPs: ResNet18 at 224×224 is 1.814 GMAC = 3.628 GFLOP per image forward; a backward pass to the
input is counted as one more forward (dX only, no weight gradients). So forward+input-grad = 7.256 GFLOP,
IG with n steps = n·7.256, GradCam ≈ 7.256 (forward + backward to layer4 counted in full), and Occlusion
= (windows + 1)·3.628. GFLOP/s = nominal GFLOP / median time: a throughput figure, not a measured op count.

Fast cases run --iterations times (default 20); IG and Occlusion take seconds each and run --slow-iterations
times (default 3), each after one warm-up call. The IG sweep is interleaved: each round times every setting
once (in order), so a slow phase of the machine falls on all settings alike; the median is over rounds.
`--ig-internal-batch-sizes 8,none` chooses the settings swept; the older `--ig-internal-batch-size B` still
times None and B only.

`--ig-rss` runs one IG call (at --n-steps and --ig-internal-batch-size) in a fresh child process and reports
its peak resident set size (resource.getrusage ru_maxrss), before and after the call.

Environment: threads are fixed with torch.set_num_threads(--threads, default 2). OPENBLAS_CORETYPE may be
set in this environment (it selects the OpenBLAS kernel that LeafLens also uses); it is respected exactly as
given and never set or changed here, and its value is reported with the results.

    python3 scripts/bench_pytorch.py
    python3 scripts/bench_pytorch.py --only forward --json
    python3 scripts/bench_pytorch.py --only ig
    python3 scripts/bench_pytorch.py --only ig --ig-internal-batch-sizes 8,16,none --n-steps 4
    python3 scripts/bench_pytorch.py --only ig --ig-internal-batch-size 10
    python3 scripts/bench_pytorch.py --ig-rss --n-steps 50 --ig-internal-batch-size 8
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import platform
import resource
import statistics
import subprocess
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from fixtures import common  # noqa: E402

FORWARD_GFLOP = 3.628  # ResNet18, 224×224, one image: 1.814 GMAC
CLASSES, WIDTH, WEIGHT_SEED, INPUT_SEED, TARGET = 38, 64, 1003, 2003, 5
GROUPS = ("forward", "ig", "gradcam", "occlusion")
IG_SWEEP = (8, 16, 25, 50, None)  # Captum's internal_batch_size settings timed by default (None: all at once)


def parse_batch_sizes(text: str) -> list[int | None]:
    """`8,16,none` → [8, 16, None]; each size ≥ 1, no duplicates."""
    sizes: list[int | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        value = None if part in ("none", "all") else int(part)
        if value is not None and value < 1:
            raise argparse.ArgumentTypeError(f"internal batch sizes must be >= 1 or none, got {part}")
        if value not in sizes:
            sizes.append(value)
    if not sizes:
        raise argparse.ArgumentTypeError("give at least one internal batch size")
    return sizes


def ig_case_name(n: int, ibs: int | None) -> str:
    return f"ig_gl{n}" + (f"_ibs{ibs}" if ibs else "")


def interleaved(runs: dict, iterations: int) -> dict:
    """Times every fn of `runs` once per round (one untimed warm-up round first): {name: timed(...)}."""
    for fn in runs.values():
        fn()
    times = {name: [] for name in runs}
    for _ in range(iterations):
        for name, fn in runs.items():
            start = time.perf_counter()
            fn()
            times[name].append((time.perf_counter() - start) * 1e3)
    return {name: {"median_ms": statistics.median(t), "min_ms": min(t), "max_ms": max(t),
                   "iterations": iterations, "warmup": 1} for name, t in times.items()}


def timed(fn, iterations: int, warmup: int) -> dict:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "iterations": iterations, "warmup": warmup}


def with_rate(result: dict, gflop: float, images: int = 1) -> dict:
    result["nominal_gflop"] = gflop
    result["gflops"] = gflop / (result["median_ms"] / 1e3)
    result["ms_per_image"] = result["median_ms"] / images
    return result


def occlusion_windows(shape, window, stride) -> int:
    return math.prod(math.ceil((d - w) / s) + 1 for d, w, s in zip(shape, window, stride))


def run_benchmarks(args) -> dict:
    model = common.seeded_resnet18(WEIGHT_SEED, CLASSES, WIDTH)
    x1 = common.seeded_input(INPUT_SEED, 1, 224, 224)
    x16 = common.seeded_input(INPUT_SEED, 16, 224, 224)
    groups = set(args.only or GROUPS)
    fast, slow = args.iterations, args.slow_iterations
    results = {}

    if "forward" in groups:
        with torch.no_grad():
            results["forward_b1"] = with_rate(timed(lambda: model(x1), fast, args.warmup), FORWARD_GFLOP)
            results["forward_b16"] = with_rate(timed(lambda: model(x16), fast, args.warmup), 16 * FORWARD_GFLOP, 16)

        def forward_input_grad():
            x = x1.clone().requires_grad_(True)
            torch.autograd.grad(model(x)[0, TARGET], [x])

        results["forward_input_grad_b1"] = with_rate(timed(forward_input_grad, fast, args.warmup), 2 * FORWARD_GFLOP)

    if groups & {"ig", "gradcam", "occlusion"}:
        attr = common.import_captum_attr()

    if "ig" in groups:
        ig = attr.IntegratedGradients(model)
        n = args.n_steps
        runs = {ig_case_name(n, ibs): (lambda ibs=ibs: ig.attribute(
            x1, baselines=0.0, target=TARGET, n_steps=n, method="gausslegendre", internal_batch_size=ibs))
            for ibs in ig_batch_sizes(args)}
        for name, result in interleaved(runs, slow).items():
            results[name] = with_rate(result, n * 2 * FORWARD_GFLOP)

    if "gradcam" in groups:
        cam = attr.LayerGradCam(model, model.layer4)

        def gradcam():
            heat = cam.attribute(x1, target=TARGET, relu_attributions=True)
            return attr.LayerAttribution.interpolate(heat, (224, 224), "bilinear")

        results["gradcam_layer4_bilinear"] = with_rate(timed(gradcam, fast, args.warmup), 2 * FORWARD_GFLOP)

    if "occlusion" in groups:
        occ = attr.Occlusion(model)
        window, stride = (3, 15, 15), (3, 8, 8)
        windows = occlusion_windows(x1.shape[1:], window, stride)
        run = lambda: occ.attribute(x1, sliding_window_shapes=window, strides=stride, baselines=0,
                                    target=TARGET, perturbations_per_eval=32)
        result = with_rate(timed(run, slow, 1), (windows + 1) * FORWARD_GFLOP)
        result["windows"] = windows
        results["occlusion_w15_s8"] = result
    return results


def ig_batch_sizes(args) -> list[int | None]:
    """The internal_batch_size settings to time: --ig-internal-batch-sizes, else the old flag's
    [None, B], else the full sweep."""
    if args.ig_internal_batch_sizes is not None:
        return args.ig_internal_batch_sizes
    if args.ig_internal_batch_size:
        return [None, args.ig_internal_batch_size]
    return list(IG_SWEEP)


def fastest_ig(results: dict, n: int, sizes: list[int | None]) -> dict | None:
    """The IG setting with the smallest median, or None when IG was not timed."""
    timed_cases = [(results[ig_case_name(n, b)]["median_ms"], b) for b in sizes if ig_case_name(n, b) in results]
    if not timed_cases:
        return None
    median_ms, ibs = min(timed_cases, key=lambda c: c[0])
    return {"name": ig_case_name(n, ibs), "internal_batch_size": ibs, "median_ms": median_ms}


def ig_rss_child(n_steps: int, internal_batch_size: int | None) -> dict:
    """Runs inside the fresh process: peak RSS before and after one IG call (Linux ru_maxrss is in KiB)."""
    torch.set_num_threads(2)
    attr = common.import_captum_attr()
    model = common.seeded_resnet18(WEIGHT_SEED, CLASSES, WIDTH)
    x = common.seeded_input(INPUT_SEED, 1, 224, 224)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    attr.IntegratedGradients(model).attribute(x, baselines=0.0, target=TARGET, n_steps=n_steps,
                                              method="gausslegendre", internal_batch_size=internal_batch_size)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"n_steps": n_steps, "internal_batch_size": internal_batch_size, "seconds": seconds,
            "max_rss_mib_before_ig": before / 1024, "max_rss_mib": after / 1024,
            "ig_rss_increase_mib": (after - before) / 1024}


def ig_rss(args) -> dict:
    command = [sys.executable, __file__, "--rss-child", "--n-steps", str(args.n_steps), "--threads", str(args.threads)]
    if args.ig_internal_batch_size:
        command += ["--ig-internal-batch-size", str(args.ig_internal_batch_size)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"RSS child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def environment(args) -> dict:
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "python": platform.python_version(),
            "machine": platform.machine(), "processor": platform.processor() or None, "cpu_count": os.cpu_count(),
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "model": {"width": WIDTH, "classes": CLASSES, "weight_seed": WEIGHT_SEED},
            "input": {"seed": INPUT_SEED, "shape": [1, 3, 224, 224], "target": TARGET}}


def main() -> int:
    parser = argparse.ArgumentParser(description="Time PyTorch/Captum on the seeded ResNet18 (CPU).")
    parser.add_argument("--iterations", type=int, default=20, help="timed runs of the fast cases (default 20)")
    parser.add_argument("--slow-iterations", type=int, default=3, help="timed runs of IG and Occlusion (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs before the fast cases (default 3)")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads value (default 2)")
    parser.add_argument("--only", choices=GROUPS, action="append", help="run only this group (repeatable)")
    parser.add_argument("--n-steps", type=int, default=50, help="IG steps (default 50)")
    parser.add_argument("--ig-internal-batch-sizes", type=parse_batch_sizes, default=None, metavar="B,B,...",
                        help="Captum internal_batch_size settings IG is timed with, comma-separated, 'none' for "
                             "all steps at once (default: 8,16,25,50,none)")
    parser.add_argument("--ig-internal-batch-size", type=int, default=None,
                        help="time IG with None and this internal_batch_size only (older flag); with --ig-rss, "
                             "the batch size measured")
    parser.add_argument("--ig-rss", action="store_true", help="report peak RSS of one IG call in a fresh process")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args()
    if min(args.iterations, args.slow_iterations, args.n_steps, args.threads) < 1 or args.warmup < 0:
        parser.error("iterations, slow-iterations, n-steps and threads must be >= 1, warmup >= 0")

    torch.set_num_threads(args.threads)
    if args.rss_child:
        print(json.dumps(ig_rss_child(args.n_steps, args.ig_internal_batch_size)))
        return 0

    report = {"environment": environment(args)}
    if args.ig_rss:
        report["ig_rss"] = ig_rss(args)
    else:
        report["results"] = run_benchmarks(args)
        fastest = fastest_ig(report["results"], args.n_steps, ig_batch_sizes(args))
        if fastest:
            report["ig_fastest"] = fastest

    if args.json:
        print(json.dumps(report))
        return 0
    env = report["environment"]
    print(f"torch {env['torch']}, {env['threads']} threads, OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']}")
    if "ig_rss" in report:
        r = report["ig_rss"]
        print(f"IG n_steps={r['n_steps']} internal_batch_size={r['internal_batch_size']}: "
              f"max RSS {r['max_rss_mib']:.0f} MiB (before IG {r['max_rss_mib_before_ig']:.0f} MiB, "
              f"+{r['ig_rss_increase_mib']:.0f} MiB), {r['seconds']:.2f} s")
        return 0
    print(f"{'case':28} {'median ms':>11} {'min ms':>10} {'max ms':>10} {'ms/image':>10} {'GFLOP/s':>8}")
    for name, r in report["results"].items():
        print(f"{name:28} {r['median_ms']:11.2f} {r['min_ms']:10.2f} {r['max_ms']:10.2f} "
              f"{r['ms_per_image']:10.2f} {r['gflops']:8.1f}")
    if "ig_fastest" in report:
        f = report["ig_fastest"]
        print(f"fastest IG: {f['name']} (internal_batch_size={f['internal_batch_size']}), median {f['median_ms']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
