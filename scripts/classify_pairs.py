#!/usr/bin/env python3
"""Interleaved whole-process timings of `leaflens classify` for two builds (BENCHMARKS.md, issue 16).

    python3 scripts/classify_pairs.py BEFORE AFTER WEIGHTS PAIRS [IMAGE]

Runs BEFORE then AFTER, PAIRS times, each as `BINARY classify --weights WEIGHTS IMAGE` (default
samples/rust.png), timed with time.perf_counter around the process; prints min / median / max of each
side and of the per-pair ratio AFTER / BEFORE.
"""
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    before, after, weights, pairs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    image = sys.argv[5] if len(sys.argv) == 6 else "samples/rust.png"
    sides = (("before", before), ("after", after))
    times = {"before": [], "after": []}  # by side, so that a build compared with itself (A/A) works
    for _ in range(pairs):
        for side, binary in sides:
            start = time.perf_counter()
            subprocess.run([binary, "classify", "--weights", weights, image], stdout=subprocess.DEVNULL, check=True)
            times[side].append((time.perf_counter() - start) * 1e3)
    for name, _ in sides:
        t = times[name]
        print(f"{name}: min {min(t):.1f} median {statistics.median(t):.1f} max {max(t):.1f} ms")
    ratios = [b / a for a, b in zip(times["before"], times["after"])]
    print(f"after/before per pair: min {min(ratios):.2f} median {statistics.median(ratios):.2f} max {max(ratios):.2f}")


if __name__ == "__main__":
    main()
