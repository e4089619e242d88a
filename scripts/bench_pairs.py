#!/usr/bin/env python3
"""Interleaved timings of one `leaflens bench` case for two builds (BENCHMARKS.md).

    python3 scripts/bench_pairs.py BEFORE AFTER WEIGHTS PAIRS [CASE ARGS...]

Runs `BINARY bench CASE ARGS... --weights WEIGHTS --no-peak --json` for BEFORE, then AFTER, PAIRS times
(CASE ARGS default: forward --size 224 --iterations 20 --warmup 3; `load` takes no --no-peak), and prints
min / median / max of each side's medians and of the per-pair ratio AFTER / BEFORE.
"""
import json
import subprocess
import sys

import interleave


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    before, after, weights, pairs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    case = sys.argv[5:] or ["forward", "--size", "224", "--iterations", "20", "--warmup", "3"]
    def measure(binary):
        out = subprocess.run(
            [binary, "bench", *case, "--weights", weights, *([] if case[0] == "load" else ["--no-peak"]), "--json"],
            capture_output=True, text=True, check=True).stdout
        return json.loads(out)["median_ms"]

    times = interleave.run(pairs, [("before", before), ("after", after)], measure)
    interleave.report(times, "before", "after", digits=2)

if __name__ == "__main__":
    main()
