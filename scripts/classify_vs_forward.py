#!/usr/bin/env python3
"""One-image classify as a whole process against one in-process forward pass (BENCHMARKS.md, issue 16 item 4).

    python3 scripts/classify_vs_forward.py BINARY WEIGHTS PAIRS [IMAGE]

Each pair runs `BINARY bench forward --weights WEIGHTS --size 224 --iterations 10 --warmup 2 --no-peak --json`
(its median is "a single forward pass"), then `BINARY classify --weights WEIGHTS IMAGE` (default
samples/rust.png) three times, each timed with time.perf_counter around the process (their median is the
pair's classify time). Prints min / median / max of both sides and of the per-pair ratio classify / forward.
"""
import json
import statistics
import subprocess
import sys
import time


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    binary, weights, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    image = sys.argv[4] if len(sys.argv) == 5 else "samples/rust.png"
    forward, classify = [], []
    for _ in range(pairs):
        out = subprocess.run(
            [binary, "bench", "forward", "--weights", weights, "--size", "224", "--iterations", "10",
             "--warmup", "2", "--no-peak", "--json"],
            capture_output=True, text=True, check=True).stdout
        forward.append(json.loads(out)["median_ms"])
        runs = []
        for _ in range(3):
            start = time.perf_counter()
            subprocess.run([binary, "classify", "--weights", weights, image], stdout=subprocess.DEVNULL, check=True)
            runs.append((time.perf_counter() - start) * 1e3)
        classify.append(statistics.median(runs))
    for name, t in (("forward (in process)", forward), ("classify (whole process)", classify)):
        print(f"{name}: min {min(t):.1f} median {statistics.median(t):.1f} max {max(t):.1f} ms")
    ratios = sorted(c / f for c, f in zip(classify, forward))
    print(f"classify / forward: min {ratios[0]:.2f} median {statistics.median(ratios):.2f} max {ratios[-1]:.2f} "
          f"({pairs} pairs)")


if __name__ == "__main__":
    main()
