#!/usr/bin/env python3
"""Interleaved whole-process timings of `leaflens classify` for two builds (BENCHMARKS.md, issue 16).

    python3 scripts/classify_pairs.py BEFORE AFTER WEIGHTS PAIRS [IMAGE]

Runs BEFORE then AFTER, PAIRS times, each as `BINARY classify --weights WEIGHTS IMAGE` (default
samples/rust.png), timed with time.perf_counter around the process; prints min / median / max of each
side and of the per-pair ratio AFTER / BEFORE.
"""
import subprocess
import sys
import time

import interleave


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__)
    before, after, weights, pairs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    image = sys.argv[5] if len(sys.argv) == 6 else "samples/rust.png"
    def measure(binary):
        start = time.perf_counter()
        subprocess.run([binary, "classify", "--weights", weights, image], stdout=subprocess.DEVNULL, check=True)
        return (time.perf_counter() - start) * 1e3

    times = interleave.run(pairs, [("before", before), ("after", after)], measure)
    interleave.report(times, "before", "after")

if __name__ == "__main__":
    main()
