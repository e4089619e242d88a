#!/usr/bin/env python3
"""Convert a torchvision ResNet18 checkpoint (.pth) to a LeafLens .safetensors file.

Accepted inputs (loaded on the CPU):
  * a state_dict (name → tensor), as written by `torch.save(model.state_dict(), path)`;
  * a checkpoint dict holding the state_dict (or a model) under 'state_dict' or 'model';
  * a whole pickled model (`torch.save(model, path)`): only with --allow-pickle, because unpickling
    arbitrary objects runs code from the file.
A 'module.' prefix (DataParallel / DistributedDataParallel) is stripped.

Output: safetensors with every tensor as F32 under its torchvision name (num_batches_tracked dropped) and
`__metadata__` = {"format": "leaflens-resnet18", "labels": JSON array of strings, "source": input file name}.
The file is written here byte by byte (no safetensors package):
    8-byte little-endian header length L, then L bytes of JSON header padded with spaces to a multiple
    of 8, then the tensor bytes; tensors in sorted name order with contiguous data_offsets.

    python3 scripts/convert_torchvision.py resnet18_leaves.pth --labels labels.txt -o leaves.safetensors
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import struct
import sys
import tempfile

import numpy as np
import torch

FORMAT = "leaflens-resnet18"
BLOCKS = (2, 2, 2, 2)  # ResNet18: BasicBlocks per stage
WIDTHS = (64, 128, 256, 512)
BN_FIELDS = ("weight", "bias", "running_mean", "running_var")


class ConversionError(Exception):
    """A problem with the input file, reported without a traceback."""


def expected_shapes(classes: int) -> dict[str, tuple]:
    """torchvision resnet18's state_dict names and shapes (num_batches_tracked excluded)."""
    shapes: dict[str, tuple] = {"conv1.weight": (64, 3, 7, 7)}
    shapes.update({f"bn1.{f}": (64,) for f in BN_FIELDS})
    in_ch = 64
    for stage, (blocks, width) in enumerate(zip(BLOCKS, WIDTHS), start=1):
        for b in range(blocks):
            p = f"layer{stage}.{b}"
            shapes[f"{p}.conv1.weight"] = (width, in_ch, 3, 3)
            shapes.update({f"{p}.bn1.{f}": (width,) for f in BN_FIELDS})
            shapes[f"{p}.conv2.weight"] = (width, width, 3, 3)
            shapes.update({f"{p}.bn2.{f}": (width,) for f in BN_FIELDS})
            if b == 0 and (stage > 1 or in_ch != width):
                shapes[f"{p}.downsample.0.weight"] = (width, in_ch, 1, 1)
                shapes.update({f"{p}.downsample.1.{f}": (width,) for f in BN_FIELDS})
            in_ch = width
    shapes["fc.weight"] = (classes, 512)
    shapes["fc.bias"] = (classes,)
    return shapes


def load_checkpoint(path: pathlib.Path, allow_pickle: bool):
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise ConversionError(f"{path}: no such file")
    except Exception as error:
        if not allow_pickle:
            first_line = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).splitlines()[0] if str(error) else ""
            raise ConversionError(
                f"{path}: cannot be read as plain tensors ({type(error).__name__}: {first_line}). "
                "If it is a whole pickled model from a source you trust, rerun with --allow-pickle.")
    # A pickled torchvision model needs torchvision.models.resnet importable to unpickle.
    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
    from fixtures.common import torchvision_resnet_module

    torchvision_resnet_module()
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:
        raise ConversionError(f"{path}: cannot be loaded ({type(error).__name__}: {error})")


def extract_state_dict(obj) -> dict[str, torch.Tensor]:
    """The name → tensor mapping inside a state_dict, checkpoint dict or module; 'module.' prefix stripped."""
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and not isinstance(obj[key], torch.Tensor):
                return extract_state_dict(obj[key])
    if not isinstance(obj, dict) or not obj:
        raise ConversionError(f"expected a state_dict, checkpoint dict or model, found {type(obj).__name__}")
    tensors = {}
    for name, value in obj.items():
        if not isinstance(value, torch.Tensor):
            raise ConversionError(f"entry {name!r} is a {type(value).__name__}, not a tensor; "
                                  f"top-level keys: {sorted(map(str, obj))[:10]}")
        if name.startswith("module."):
            name = name[len("module."):]
        tensors[name] = value
    return tensors


def validate(tensors: dict[str, torch.Tensor]) -> tuple[dict[str, np.ndarray], int]:
    """Check names and shapes against torchvision resnet18; return float32 arrays and the class count."""
    tensors = {k: v for k, v in tensors.items() if not k.endswith("num_batches_tracked")}
    fc = tensors.get("fc.weight")
    if fc is None or fc.dim() != 2:
        raise ConversionError("fc.weight is missing or not 2-D: is this a torchvision resnet18 state_dict? "
                              f"first keys: {sorted(tensors)[:6]}")
    classes = fc.shape[0]
    expected = expected_shapes(classes)
    missing = [k for k in expected if k not in tensors]
    unexpected = sorted(k for k in tensors if k not in expected)
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing key(s): {', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s) (not in resnet18): "
                        f"{', '.join(unexpected[:8])}{' ...' if len(unexpected) > 8 else ''}")
    for name, shape in expected.items():
        if name in tensors and tuple(tensors[name].shape) != shape:
            problems.append(f"{name}: shape {list(tensors[name].shape)}, expected {list(shape)}")
    if problems:
        raise ConversionError("not a torchvision resnet18 state_dict:\n  " + "\n  ".join(problems))
    for name, value in tensors.items():
        if not value.is_floating_point():
            raise ConversionError(f"{name}: dtype {value.dtype} is not floating point")
    arrays = {k: np.ascontiguousarray(v.detach().to(torch.float32).numpy(), dtype="<f4") for k, v in tensors.items()}
    return arrays, classes


def read_labels(path: pathlib.Path | None, classes: int) -> list[str]:
    if path is None:
        return [f"class_{i}" for i in range(classes)]
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConversionError(f"--labels {path}: {error.strerror}")
    while lines and not lines[-1].strip():  # tolerate trailing blank lines only
        lines.pop()
    labels = [line.strip() for line in lines]
    if any(not label for label in labels):
        raise ConversionError(f"--labels {path}: line {labels.index('') + 1} is empty")
    if len(labels) != classes:
        raise ConversionError(f"--labels {path} has {len(labels)} labels but fc.weight has {classes} rows (classes)")
    return labels


def safetensors_bytes(arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> bytes:
    """Serialize F32 arrays: u64-LE header length, space-padded JSON header, contiguous data in sorted order."""
    header: dict[str, object] = {"__metadata__": metadata}
    offset, chunks = 0, []
    for name in sorted(arrays):
        data = arrays[name].astype("<f4", copy=False).tobytes(order="C")
        header[name] = {"dtype": "F32", "shape": list(arrays[name].shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def read_safetensors(path: pathlib.Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Read back a file written by `safetensors_bytes` (F32 only), checking offsets are contiguous."""
    blob = path.read_bytes()
    (length,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + length])
    metadata = header.pop("__metadata__", {})
    data, arrays, expected_begin = blob[8 + length:], {}, 0
    for name, info in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
        begin, end = info["data_offsets"]
        assert info["dtype"] == "F32" and begin == expected_begin, (name, info)
        arrays[name] = np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])
        expected_begin = end
    assert expected_begin == len(data), "trailing bytes after the last tensor"
    return arrays, metadata


def write_atomically(path: pathlib.Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    umask = os.umask(0)
    os.umask(umask)
    try:
        os.fchmod(fd, 0o666 & ~umask)  # mkstemp creates 0600; give the file ordinary permissions
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def convert(source: pathlib.Path, output: pathlib.Path, labels_path: pathlib.Path | None,
            allow_pickle: bool = False) -> dict:
    arrays, classes = validate(extract_state_dict(load_checkpoint(source, allow_pickle)))
    labels = read_labels(labels_path, classes)
    metadata = {"format": FORMAT, "labels": json.dumps(labels, ensure_ascii=False), "source": source.name}
    write_atomically(output, safetensors_bytes(arrays, metadata))
    back, back_meta = read_safetensors(output)  # cheap self-check of what was written
    assert back_meta == metadata and set(back) == set(arrays)
    assert all(np.array_equal(back[k], arrays[k]) for k in arrays)
    return {"output": str(output), "tensors": len(arrays), "classes": classes,
            "parameters": int(sum(a.size for a in arrays.values())), "bytes": output.stat().st_size}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Convert a torchvision resnet18 .pth to LeafLens safetensors.")
    parser.add_argument("checkpoint", type=pathlib.Path, help="the .pth/.pt file (state_dict, checkpoint or model)")
    parser.add_argument("-o", "--output", type=pathlib.Path,
                        help="output .safetensors path (default: the input path with .safetensors)")
    parser.add_argument("--labels", type=pathlib.Path,
                        help="text file with one class label per line, in class-index order "
                             "(default: class_0 .. class_{K-1})")
    parser.add_argument("--allow-pickle", action="store_true",
                        help="allow unpickling a whole model object (runs code from the file; trusted files only)")
    args = parser.parse_args(argv)
    output = args.output or args.checkpoint.with_suffix(".safetensors")
    try:
        summary = convert(args.checkpoint, output, args.labels, args.allow_pickle)
    except ConversionError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {summary['output']}: {summary['tensors']} tensors, {summary['parameters']} parameters, "
          f"{summary['classes']} classes, {summary['bytes']} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
