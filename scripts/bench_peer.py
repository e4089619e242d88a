#!/usr/bin/env python3
"""The PyTorch / Captum / pytorch-grad-cam side of scripts/bench-compare: one case per process, printed as one
JSON line (median / min / max wall time in ms over --iterations runs after --warmup untimed ones).

    python3 scripts/bench_peer.py CASE [options] --json

Cases (the LeafLens command each is compared with, run by scripts/bench-compare):
  forward              model(x) under no_grad, batch --batch                  leaflens bench forward
  grad-cam             Captum LayerGradCam + interpolate (bilinear), ReLU      leaflens bench grad-cam
  ig                   Captum IntegratedGradients, gausslegendre, zero base    leaflens bench ig
  noise-tunnel         Captum NoiseTunnel(IntegratedGradients), smoothgrad     leaflens bench noise-tunnel
  gradient-shap        Captum GradientShap, one zero baseline row              leaflens bench gradient-shap
  score-cam            pytorch-grad-cam ScoreCAM (batch_size attribute)        leaflens bench score-cam
  ablation-cam         pytorch-grad-cam AblationCAM(batch_size=...)            leaflens bench ablation-cam
  deletion-insertion   RISE's CausalMetric written straightforwardly in        leaflens bench deletion-insertion
                       PyTorch, states forwarded --batch-size at a time
  load                 torch.load(weights_only=True) + load_state_dict         leaflens bench load
  make-pth             writes torch.save(seeded state_dict) to --out (no timing)

The network is the seeded torchvision ResNet of Fixtures/README.md: depth 18 is common.seeded_resnet18, depth 50
depths.seeded(depths.architecture(50, …)) — the same weights `leaflens make-seeded-model --seed S --depth D`
writes (and the LeafLens bench's built-in seeded ResNet18, seed 1003). Input: common.seeded_input(2003), target 5.

--sweep (ig, noise-tunnel, score-cam, ablation-cam) times every batch setting of the library (--iterations
calls after --warmup untimed ones, per setting) and reports them all and the fastest (`best`), so the
comparison uses the peer at its best.
--rss runs one call (no warm-up) and reports ru_maxrss before and after it (MiB).

Threads: torch.set_num_threads(--threads, default 2). OPENBLAS_CORETYPE is left exactly as the environment
sets it, and reported.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import pathlib
import resource
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from fixtures import common  # noqa: E402
from fixtures import depths  # noqa: E402

INPUT_SEED, TARGET = 2003, 5
IG_BATCHES = [8, 16, 25, 50, None]        # Captum internal_batch_size values swept (issue 16)
NT_SAMPLE_BATCHES = [1, 5, None]          # nt_samples_batch_size values swept
CAM_BATCHES = [16, 32, 64, 128]           # pytorch-grad-cam batch_size values swept
MAX_ROWS = 128                            # NoiseTunnel settings forwarding more rows at once are skipped (memory)


def model_for(args) -> torch.nn.Module:
    if args.depth == 18:
        return common.seeded_resnet18(args.seed, args.classes, args.width)
    return depths.seeded(depths.architecture(args.depth, args.classes, args.width), args.seed)


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


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def optional_int(text: str):
    return None if text.lower() == "none" else int(text)


# ---------------------------------------------------------------------------------------------------------
# Cases: each returns (callable for a configuration, list of configurations to sweep, default configuration)

def case_forward(args, model, x):
    def make(config):
        def run():
            with torch.no_grad():
                model(x)
        return run
    return make, [{}], {}


def case_ig(args, model, x):
    attr = common.import_captum_attr()
    ig = attr.IntegratedGradients(model)

    def make(config):
        return lambda: ig.attribute(x, baselines=0.0, target=TARGET, n_steps=args.steps, method="gausslegendre",
                                    internal_batch_size=config["internal_batch_size"])
    sweep = [{"internal_batch_size": b} for b in IG_BATCHES]  # None: all steps at once (50 rows)
    return make, sweep, {"internal_batch_size": args.internal_batch_size}


def case_noise_tunnel(args, model, x):
    attr = common.import_captum_attr()
    nt = attr.NoiseTunnel(attr.IntegratedGradients(model))

    def make(config):
        return lambda: nt.attribute(x, nt_type="smoothgrad", nt_samples=args.samples, stdevs=args.stdev,
                                    nt_samples_batch_size=config["nt_samples_batch_size"], baselines=0.0,
                                    target=TARGET, n_steps=args.steps, method="gausslegendre",
                                    internal_batch_size=config["internal_batch_size"])

    def rows(config):  # rows Captum forwards at once: samples in a partition × steps per chunk
        partition = config["nt_samples_batch_size"] or args.samples
        ibs = config["internal_batch_size"]
        steps = args.steps if ibs is None else max(1, ibs // partition)
        return partition * min(steps, args.steps)
    sweep = [{"nt_samples_batch_size": s, "internal_batch_size": b} for s in NT_SAMPLE_BATCHES for b in IG_BATCHES]
    sweep = [c for c in sweep if rows(c) <= MAX_ROWS and (c["nt_samples_batch_size"] or 0) <= args.samples]
    return make, sweep, {"nt_samples_batch_size": args.nt_batch_size, "internal_batch_size": args.internal_batch_size}


def case_grad_cam(args, model, x):
    attr = common.import_captum_attr()
    cam = attr.LayerGradCam(model, dict(model.named_modules())[args.layer])

    def make(config):  # ReLU and bilinear upsampling to the input, as `leaflens bench grad-cam`
        def run():
            heat = cam.attribute(x, target=TARGET, relu_attributions=True)
            attr.LayerAttribution.interpolate(heat, tuple(x.shape[-2:]), "bilinear")
        return run
    return make, [{}], {}


def case_gradient_shap(args, model, x):
    attr = common.import_captum_attr()
    gs = attr.GradientShap(model)
    zero = torch.zeros(1, *x.shape[1:])

    def make(config):  # Captum's GradientShap has no batch setting: all n_samples rows in one pass
        return lambda: gs.attribute(x, baselines=zero, n_samples=args.samples, stdevs=args.stdev, target=TARGET)
    return make, [{}], {}


def grad_cam_module():
    common.torchvision_resnet_module()  # before pytorch_grad_cam, which imports torchvision.transforms
    import pytorch_grad_cam
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
    return pytorch_grad_cam, ClassifierOutputTarget


def case_score_cam(args, model, x):
    g, Target = grad_cam_module()
    cam = g.ScoreCAM(model=model, target_layers=[dict(model.named_modules())[args.layer]])

    def make(config):
        def run():
            cam.batch_size = config["batch_size"]
            cam(input_tensor=x, targets=[Target(TARGET)])
        return run
    return make, [{"batch_size": b} for b in CAM_BATCHES], {"batch_size": args.cam_batch_size or 16}


def case_ablation_cam(args, model, x):
    g, Target = grad_cam_module()
    layer = dict(model.named_modules())[args.layer]
    cams = {}

    def make(config):
        b = config["batch_size"]
        if b not in cams:
            cams[b] = g.AblationCAM(model=model, target_layers=[layer], batch_size=b)
        return lambda: cams[b](input_tensor=x, targets=[Target(TARGET)])
    return make, [{"batch_size": b} for b in CAM_BATCHES], {"batch_size": args.cam_batch_size or 32}


def rise_kernel() -> torch.Tensor:
    """RISE's gkern(11, 5): a centred impulse filtered by scipy's gaussian_filter(σ = 5), per channel."""
    from scipy.ndimage import gaussian_filter
    impulse = np.zeros((11, 11))
    impulse[5, 5] = 1
    k = gaussian_filter(impulse, 5)
    kern = np.zeros((3, 3, 11, 11), dtype=np.float32)
    for c in range(3):
        kern[c, c] = k
    return torch.from_numpy(kern)


def causal_curve(model, image, order, mode, step, batch, kernel):
    """RISE's CausalMetric.single_run with the states forwarded `batch` at a time: the softmax probability of
    the clean image's top class after each step of moving pixels (in `order`) from start to finish."""
    _, channels, h, w = image.shape
    pixels = h * w
    steps = (pixels + step - 1) // step
    with torch.no_grad():
        top = int(model(image).argmax(1))
        if mode == "deletion":
            start, finish = image.clone(), torch.zeros_like(image)
        else:
            start, finish = F.conv2d(image, kernel, padding=5), image.clone()
        state = start.reshape(channels, pixels).clone()
        finish = finish.reshape(channels, pixels)
        scores, pending = [], []
        for i in range(steps + 1):
            pending.append(state.clone())
            if i < steps:
                idx = order[i * step:(i + 1) * step]
                state[:, idx] = finish[:, idx]
            if len(pending) == batch or i == steps:
                out = model(torch.stack(pending).reshape(len(pending), channels, h, w))
                scores += torch.softmax(out, dim=1)[:, top].tolist()
                pending = []
    return scores


def case_deletion_insertion(args, model, x):
    kernel = rise_kernel()
    xg = x.clone().requires_grad_(True)  # the ranked explanation: Saliency (|∂F/∂x| summed over channels)
    (grad,) = torch.autograd.grad(model(xg)[0, TARGET], [xg])
    order = torch.argsort(grad.abs().sum(1).reshape(-1), descending=True, stable=True)
    step = args.step or x.shape[-1]

    def make(config):
        def run():
            causal_curve(model, x, order, "deletion", step, args.batch_size, kernel)
            causal_curve(model, x, order, "insertion", step, args.batch_size, kernel)
        return run
    return make, [{}], {"batch_size": args.batch_size, "step": step}


CASES = {"forward": case_forward, "grad-cam": case_grad_cam, "ig": case_ig, "noise-tunnel": case_noise_tunnel,
         "gradient-shap": case_gradient_shap, "score-cam": case_score_cam, "ablation-cam": case_ablation_cam,
         "deletion-insertion": case_deletion_insertion}


def environment(args) -> dict:
    env = {"threads": torch.get_num_threads(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}
    env.update(common.versions())
    try:
        import importlib.metadata as md
        env["grad-cam"] = md.version("grad-cam")
    except Exception:  # noqa: BLE001 - reporting only
        env["grad-cam"] = "not installed"
    return env


def run_case(args) -> dict:
    model = model_for(args)
    x = common.seeded_input(INPUT_SEED, args.batch, args.size, args.size)
    make, sweep, default = CASES[args.case](args, model, x)
    report = {"case": args.case, "depth": args.depth, "width": args.width, "batch": args.batch, "size": args.size}
    if args.rss:
        before = peak_mib()
        start = time.perf_counter()
        make(default)()
        report.update({"config": default, "seconds": time.perf_counter() - start, "max_rss_mib_before": before,
                       "max_rss_mib": peak_mib(), "rss_increase_mib": peak_mib() - before})
    elif args.sweep:
        if args.sweep_limit:
            sweep = sweep[:args.sweep_limit]
        # Each setting gets its own warm-up call (new batch shapes allocate on first use), then is timed.
        results = [dict(config=c, **timed(make(c), args.iterations, args.warmup)) for c in sweep]
        best = min(results, key=lambda r: r["median_ms"])
        report.update({"sweep": results, "best": best["config"], "median_ms": best["median_ms"]})
    else:
        report.update({"config": default, **timed(make(default), args.iterations, args.warmup)})
    return report


def load_case(args) -> dict:
    model = model_for(args)  # architecture built once outside the timing: what a user's script already has

    def run():
        model.load_state_dict(torch.load(args.path, weights_only=True), strict=True)
    return {"case": "load", "path": args.path, **timed(run, args.iterations, args.warmup)}


def make_pth(args) -> dict:
    model = model_for(args)
    tmp = args.out + ".tmp"
    torch.save(model.state_dict(), tmp)
    os.replace(tmp, args.out)
    return {"case": "make-pth", "out": args.out, "bytes": os.path.getsize(args.out)}


def main() -> int:
    p = argparse.ArgumentParser(description="PyTorch-side timings for scripts/bench-compare.")
    p.add_argument("case", choices=[*CASES, "load", "make-pth"])
    p.add_argument("--depth", type=int, choices=[18, 50], default=18)
    p.add_argument("--width", type=int, default=64)
    p.add_argument("--classes", type=int, default=38)
    p.add_argument("--seed", type=int, default=1003, help="weight seed (default 1003)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--batch", type=int, default=1, help="images per call (forward)")
    p.add_argument("--iterations", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=50, help="IG steps")
    p.add_argument("--samples", type=int, default=10, help="NoiseTunnel / GradientShap samples")
    p.add_argument("--stdev", type=float, default=None, help="noise σ (default: NoiseTunnel 1.0, GradientShap 0)")
    p.add_argument("--internal-batch-size", type=optional_int, default=None)
    p.add_argument("--nt-batch-size", type=optional_int, default=None)
    p.add_argument("--layer", default="layer4")
    p.add_argument("--cam-batch-size", type=int, default=None)
    p.add_argument("--step", type=int, default=None, help="deletion/insertion pixels per step (default: width)")
    p.add_argument("--batch-size", type=int, default=16, help="deletion/insertion states per forward")
    p.add_argument("--path", help="load: the .pth file")
    p.add_argument("--out", help="make-pth: the file to write")
    p.add_argument("--sweep", action="store_true")
    p.add_argument("--sweep-limit", type=int, default=0, help="time only the first N sweep settings (quick runs)")
    p.add_argument("--rss", action="store_true")
    p.add_argument("--json", action="store_true", help="(always JSON; kept for symmetry with leaflens bench)")
    args = p.parse_args()
    if args.stdev is None:
        args.stdev = 1.0 if args.case == "noise-tunnel" else 0.0
    torch.set_num_threads(args.threads)
    if args.case == "make-pth":
        if not args.out:
            p.error("make-pth needs --out")
        report = make_pth(args)
    elif args.case == "load":
        if not args.path:
            p.error("load needs --path")
        report = load_case(args)
    else:
        report = run_case(args)
    report["environment"] = environment(args)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
