#!/usr/bin/env python3
"""Interleaved wall times of two whole commands (BENCHMARKS.md).

    python3 scripts/process_pairs.py PAIRS [--env-b NAME=VALUE ...] -- COMMAND...

Runs COMMAND as A (the environment as found), then as B (with each NAME=VALUE of --env-b added), PAIRS
times, each timed with time.perf_counter around the process (output discarded; a non-zero exit stops
the script). Prints min / median / max of each side and of the per-pair ratio B / A.
"""
import os
import subprocess
import sys
import time

import interleave


def main():
    args = sys.argv[1:]
    if "--" not in args or len(args) < 3:
        sys.exit(__doc__)
    split = args.index("--")
    options, command = args[:split], args[split + 1:]
    pairs, extra = int(options[0]), {}
    rest = options[1:]
    while rest:
        if rest[0] != "--env-b" or len(rest) < 2 or "=" not in rest[1]:
            sys.exit(__doc__)
        name, value = rest[1].split("=", 1)
        extra[name] = value
        rest = rest[2:]
    def measure(environment):
        start = time.perf_counter()
        subprocess.run(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        return (time.perf_counter() - start) * 1e3

    times = interleave.run(pairs, [("A", dict(os.environ)), ("B", {**os.environ, **extra})], measure)
    interleave.report(times, "A", "B", note="; B adds " + " ".join(f"{k}={v}" for k, v in extra.items()))

if __name__ == "__main__":
    main()
