#!/usr/bin/env python3
"""Regenerate every reference fixture under Fixtures/ from PyTorch / torchvision / Captum.

Runs, in file-name order, each module scripts/fixtures/<name>.py (except common.py and __init__.py) that
defines `main(root: pathlib.Path)`, and prints the files it returned. New generators (e.g. imaging.py) are
picked up automatically.

    python3 scripts/make_fixtures.py              # everything
    python3 scripts/make_fixtures.py --only parity
    python3 scripts/make_fixtures.py --list

Tests and CI never run this; they read the committed files.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pathlib
import sys
import time

SCRIPTS = pathlib.Path(__file__).resolve().parent
ROOT = SCRIPTS.parent
FIXTURE_MODULES = SCRIPTS / "fixtures"
SKIPPED = {"common", "__init__"}


def generator_names() -> list[str]:
    return sorted(p.stem for p in FIXTURE_MODULES.glob("*.py") if p.stem not in SKIPPED)


def load(name: str):
    """Import scripts/fixtures/<name>.py as `fixtures.<name>` (so `from . import common` works).

    The folder itself goes at the END of sys.path: that lets a generator written as `import common` work
    too, while `import captum` still finds the real package rather than fixtures/captum.py.
    """
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    if str(FIXTURE_MODULES) not in sys.path:
        sys.path.append(str(FIXTURE_MODULES))
    return importlib.import_module(f"fixtures.{name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", metavar="NAME", action="append",
                        help="run only scripts/fixtures/NAME.py (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the generators and exit")
    parser.add_argument("--root", type=pathlib.Path, default=ROOT,
                        help="repository root whose Fixtures/ is written (default: this checkout)")
    args = parser.parse_args()

    names = generator_names()
    if args.list:
        print("\n".join(names))
        return 0
    if args.only:
        unknown = [n for n in args.only if n not in names]
        if unknown:
            parser.error(f"unknown generator(s) {unknown}; available: {names}")
        names = [n for n in names if n in args.only]

    ran = 0
    for name in names:
        module = load(name)
        entry = getattr(module, "main", None)
        if entry is None or not callable(entry) or len(inspect.signature(entry).parameters) != 1:
            print(f"skip fixtures/{name}.py: no main(root)")
            continue
        start = time.perf_counter()
        print(f"== fixtures/{name}.py")
        written = entry(args.root.resolve()) or []
        for path in written:
            path = pathlib.Path(path)
            size = path.stat().st_size if path.exists() else 0
            try:
                shown = path.resolve().relative_to(args.root.resolve())
            except ValueError:
                shown = path
            print(f"  wrote {shown} ({size / 1024:.1f} KiB)")
        print(f"  {name}: {len(written)} files in {time.perf_counter() - start:.1f} s")
        ran += 1
    if ran == 0:
        print("no generators ran", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
