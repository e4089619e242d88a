#!/usr/bin/env python3
"""Retired: the conversion is native now. This wrapper runs `leaflens convert` with the same arguments.

    python3 scripts/convert_torchvision.py model.pth --labels labels.txt -o model.safetensors
    # is the same as
    .build/release/leaflens convert model.pth --labels labels.txt -o model.safetensors

`--allow-pickle` is accepted and ignored: whole pickled models are read without running them.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def main(argv: list[str]) -> int:
    args = [a for a in argv if a != "--allow-pickle"]
    if "-o" not in args and "--output" not in args and args and not args[0].startswith("-"):
        args += ["-o", str(pathlib.Path(args[0]).with_suffix(".safetensors"))]
    for candidate in (ROOT / ".build/release/leaflens", ROOT / ".build/debug/leaflens"):
        if candidate.exists():
            binary = str(candidate)
            break
    else:
        binary = shutil.which("leaflens")
    if binary is None:
        print("error: leaflens is not built; run `swift build -c release` first", file=sys.stderr)
        return 1
    os.execv(binary, [binary, "convert", *args])
    return 1  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
