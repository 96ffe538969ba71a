"""Devices for latency bounds: the built-in table and user YAML files.

Each built-in entry gives the vendor's datasheet figures: the peak FLOP/s per element type
(the highest the datasheet states for dense math in that type, tensor cores included, so a
bound made from it stays a bound) and the peak memory bandwidth. One FLOP is one multiply or
one add; the datasheets count a fused multiply-add as two, as cnncalc does.

A device file has the keys `name`, `peak_flops` (dtype -> FLOP/s, e.g. `{float32: 1.0e12}`),
`bandwidth` (bytes/s) and optionally `source` (where the figures come from).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cnncalc.problems import Loc, Problem, Problems, SpecError, did_you_mean
from cnncalc.spec.dtypes import DTYPE_BYTES
from cnncalc.spec.source import read_spec
from cnncalc.spec.yamlload import LMap, load_text
from cnncalc.text import shown

KEYS = ("name", "peak_flops", "bandwidth", "source")
MAX_FIGURE = 1e21  # a zettaFLOP/s or zettabyte/s: beyond any device, surely a typo


@dataclass(frozen=True)
class Device:
    name: str
    peak_flops: dict[str, float]  # dtype -> FLOP/s
    bandwidth: float  # bytes/s
    source: str = ""


T = 1e12
BUILTIN: dict[str, Device] = {d.name: d for d in (
    Device("a100-sxm4-40gb", {"float32": 19.5 * T, "float16": 312 * T, "bfloat16": 312 * T,
                              "float64": 19.5 * T, "int8": 624 * T}, 1555e9,
           "NVIDIA A100 Tensor Core GPU datasheet (A100 40GB SXM: FP32 19.5 TFLOPS, FP64 "
           "Tensor Core 19.5, FP16/BF16 Tensor Core 312, INT8 Tensor Core 624 TOPS, "
           "1,555 GB/s HBM2). float32 is the non-tensor FP32 figure: with TF32 enabled "
           "(156 TFLOPS) real float32 layers can beat it; give a device file for that."),
    Device("t4", {"float32": 8.1 * T, "float16": 65 * T, "int8": 130 * T}, 320e9,
           "NVIDIA T4 Tensor Core GPU datasheet (single precision 8.1 TFLOPS, mixed "
           "precision FP16/FP32 65 TFLOPS, INT8 130 TOPS, 320 GB/s GDDR6)"),
    Device("v100-sxm2", {"float32": 15.7 * T, "float16": 125 * T, "float64": 7.8 * T}, 900e9,
           "NVIDIA Tesla V100 GPU datasheet (V100 SXM2: double precision 7.8 TFLOPS, single "
           "precision 15.7 TFLOPS, Tensor Performance 125 TFLOPS, 900 GB/s HBM2)"),
)}


def builtin(name: str) -> Device:
    """A built-in device by name; KeyError with a suggestion otherwise."""
    if name not in BUILTIN:
        raise KeyError(f"no built-in device '{name}'{did_you_mean(name, BUILTIN)} (built in: "
                       f"{', '.join(BUILTIN)}; or give a .yaml device file)")
    return BUILTIN[name]


def load_device(path: str | Path) -> Device:
    """Read a device file; SpecError with every problem located otherwise."""
    text, file = read_spec(path)  # the one file reader: devices and oversized files refused
    return parse_device(text, file)


def parse_device(text: str, file: str) -> Device:
    root = load_text(text, file)
    problems = Problems()
    start = Loc(file, 1, 1)
    if not isinstance(root, LMap):
        raise SpecError([_problem(start, "a device file is a mapping with name, peak_flops and "
                                         "bandwidth")])
    for key in root:
        if key not in KEYS:
            problems.error(root.key_loc(key), "unknown-key", f"unknown key '{key}' in a device "
                           f"file{did_you_mean(str(key), KEYS)}")
    for key in ("name", "peak_flops", "bandwidth"):
        if key not in root:
            problems.error(start, "bad-device", f"the device file needs '{key}'")
    name = root.get("name", "")
    if "name" in root and not (isinstance(name, str) and name.strip()):
        problems.error(root.value_loc("name"), "bad-device", f"name must be text, got {shown(name)}")
    source = root.get("source", "")
    if not isinstance(source, str):
        problems.error(root.value_loc("source"), "bad-device", f"source must be text, got {shown(source)}")
    peaks: dict[str, float] = {}
    node = root.get("peak_flops")
    if "peak_flops" in root and not (isinstance(node, LMap) and node):
        problems.error(root.value_loc("peak_flops"), "bad-device", "peak_flops maps element "
                       f"types to FLOP/s (e.g. {{float32: 1.0e12}}), got {shown(node)}")
    elif isinstance(node, LMap):
        for dtype, value in node.items():
            if dtype not in DTYPE_BYTES:
                problems.error(node.key_loc(dtype), "bad-device", f"unknown element type "
                               f"{shown(dtype)}{did_you_mean(str(dtype), DTYPE_BYTES)} (one of "
                               f"{', '.join(DTYPE_BYTES)})")
            elif _figure(value, node.value_loc(dtype), f"peak_flops.{dtype}", "FLOP/s", problems):
                peaks[dtype] = float(value)
    bandwidth = root.get("bandwidth")
    if "bandwidth" in root and not _figure(bandwidth, root.value_loc("bandwidth"), "bandwidth",
                                           "bytes/s", problems):
        bandwidth = None
    if problems.errors:
        raise SpecError(problems.errors)
    return Device(str(name), peaks, float(bandwidth), str(source))  # type: ignore[arg-type]


def _figure(value: object, loc: Loc, what: str, unit: str, problems: Problems) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= MAX_FIGURE:
        problems.error(loc, "bad-device", f"{what} must be a positive number of {unit} (at most "
                       f"{MAX_FIGURE:.0e}), e.g. 1.5e12, got {shown(value)}")
        return False
    return True


def _problem(loc: Loc, message: str) -> Problem:
    return Problem(loc, "error", "bad-device", message)
