#!/usr/bin/env python3
"""Interleaved timings of one `leaflens bench` case for two builds (BENCHMARKS.md).

    python3 scripts/bench_pairs.py BEFORE AFTER WEIGHTS PAIRS [CASE ARGS...]

Runs `BINARY bench CASE ARGS... --weights WEIGHTS --no-peak --json` for BEFORE, then AFTER, PAIRS times
(CASE ARGS default: forward --size 224 --iterations 20 --warmup 3; `load` takes no --no-peak), and prints
min / median / max of each side's medians and of the per-pair ratio AFTER / BEFORE.
"""
import json
import statistics
import subprocess
import sys


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    before, after, weights, pairs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    case = sys.argv[5:] or ["forward", "--size", "224", "--iterations", "20", "--warmup", "3"]
    sides = (("before", before), ("after", after))
    times = {"before": [], "after": []}  # by side, so that a build compared with itself (A/A) works
    for _ in range(pairs):
        for side, binary in sides:
            out = subprocess.run(
                [binary, "bench", *case, "--weights", weights, *([] if case[0] == "load" else ["--no-peak"]),
                 "--json"],
                capture_output=True, text=True, check=True).stdout
            times[side].append(json.loads(out)["median_ms"])
    for name, _ in sides:
        t = times[name]
        print(f"{name}: min {min(t):.2f} median {statistics.median(t):.2f} max {max(t):.2f} ms")
    ratios = sorted(b / a for a, b in zip(times["before"], times["after"]))
    print(f"after/before per pair: min {ratios[0]:.3f} median {statistics.median(ratios):.3f} "
          f"max {ratios[-1]:.3f} ({pairs} pairs)")


if __name__ == "__main__":
    main()
