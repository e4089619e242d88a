"""Shared by the interleaved-timing scripts (bench_pairs.py, classify_pairs.py, process_pairs.py).

`run(pairs, sides, measure)` measures each side once per pair, the sides alternating (A B A B …), and keeps
the times by side name (so a side compared with itself works); `report` prints min / median / max of each
side and of the per-pair ratio second / first.
"""
import statistics


def run(pairs, sides, measure):
    """`sides`: [(name, what)]; `measure(what)` returns one time in ms."""
    times = {name: [] for name, _ in sides}
    for _ in range(pairs):
        for name, what in sides:
            times[name].append(measure(what))
    return times


def report(times, first, second, digits=1, note=""):
    for name in (first, second):
        t = times[name]
        print(f"{name}: min {min(t):.{digits}f} median {statistics.median(t):.{digits}f} "
              f"max {max(t):.{digits}f} ms")
    ratios = sorted(b / a for a, b in zip(times[first], times[second]))
    print(f"{second}/{first} per pair: min {ratios[0]:.{digits + 1}f} median {statistics.median(ratios):.{digits + 1}f} "
          f"max {ratios[-1]:.{digits + 1}f} ({len(ratios)} pairs{note})")
