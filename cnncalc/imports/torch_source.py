"""PyTorch source: `MODULE:CALLABLE` -> an `ImportedModel`, by torch.fx tracing on CPU.

The callable is called with no arguments and must return an `nn.Module`. It is put in eval
mode, traced with `torch.fx.symbolic_trace` and run once at batch 1 through fx's `ShapeProp`,
so every node carries PyTorch's own output shape; `torch_convert` then translates node by
node. torch is imported here only, when this source is used: cnncalc never needs it otherwise.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import os
import sys
from dataclasses import dataclass
from typing import Any

from cnncalc.imports.model import ImportedModel, SourceError, UnsupportedModel
from cnncalc.problems import did_you_mean


@dataclass
class TorchImport:
    """An imported model and, per layer, the shape PyTorch gave the node it came from
    (batchless, in cnncalc's channels-first layout): what the loaded spec must reproduce."""

    model: ImportedModel
    shapes: dict[str, tuple[int, ...]]


def read_torch(target: str, input_shape: list[int]) -> ImportedModel:
    """Import `MODULE:CALLABLE` for an input of `input_shape` (without the batch)."""
    return trace_torch(target, input_shape).model


def trace_torch(target: str, input_shape: list[int], example: Any = None,
                name: str | None = None) -> TorchImport:
    """`read_torch` with the shapes to check; `example` (a NumPy array with a batch axis)
    is the input the shapes are propagated with, instead of zeros."""
    torch = _torch()
    model = _instantiate(target, torch)
    return import_module(model, input_shape, target, example, name)


def import_module(model: Any, input_shape: list[int], target: str, example: Any = None,
                  name: str | None = None) -> TorchImport:
    """An `nn.Module` already built (`target` names it in messages and the header)."""
    torch = _torch()
    from torch import fx  # noqa: PLC0415  (torch is loaded only by this source)
    from torch.fx.passes.shape_prop import ShapeProp  # noqa: PLC0415

    # lazy: the translation imports torch at its top
    from cnncalc.imports.torch_convert import Converter  # noqa: PLC0415

    model.eval()
    try:
        graph = fx.symbolic_trace(model)
    except Exception as exc:  # fx fails in many ways on dynamic code
        raise SourceError(f"torch.fx cannot trace {target}(): {type(exc).__name__}: "
                          f"{_first_line(exc)}") from None
    shape = [1, *input_shape]
    # The input goes where the weights are: a model built on the meta device is traced
    # without computing anything (its layer-scale values are then unknown: init 1.0).
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    x = (torch.from_numpy(example[:1]).float() if example is not None else torch.zeros(shape))
    x = x.to(device)
    try:
        # ShapeProp prints the traceback of a failing node itself: kept off the terminal.
        with torch.no_grad(), contextlib.redirect_stderr(io.StringIO()):
            ShapeProp(graph).propagate(x)
    except Exception as exc:  # the user's forward failing on this input
        cause = exc.__cause__ or exc   # ShapeProp wraps it, naming the node
        raise SourceError(f"running {target}() on an input of shape {shape} failed: "
                          f"{type(cause).__name__}: {_first_line(cause)}") from None
    converter = Converter(graph, target)
    outputs = converter.run()
    if converter.problems:
        raise UnsupportedModel(target, converter.problems)
    imported = ImportedModel(
        name=name or target.rpartition(":")[2].rpartition(".")[2],
        source=f"{target} (PyTorch {torch.__version__.split('+')[0]}, traced with torch.fx)",
        input_shape=list(input_shape), layers=converter.layers, outputs=outputs,
        notes=_unused(model, converter.calls.keys(), converter.read_params))
    return TorchImport(imported, converter.expected)


def _torch() -> Any:
    try:
        import torch  # noqa: PLC0415  (only this source needs it)
    except ImportError:
        raise SourceError("importing a PyTorch model needs torch: pip install torch") from None
    return torch


def _instantiate(target: str, torch: Any) -> Any:
    """Import MODULE, find CALLABLE (dots allowed), call it with no arguments."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise SourceError(f"expected MODULE:CALLABLE (e.g. torchvision.models:resnet18), a .onnx "
                          f"or a .keras file, got {target!r}")
    if os.getcwd() not in sys.path:   # `mymodel:build` from the current directory, as python -m
        sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SourceError(f"cannot import the module {module_name}: {exc}") from None
    except Exception as exc:  # the module's own code failing at import
        raise SourceError(f"importing the module {module_name} failed: {type(exc).__name__}: "
                          f"{_first_line(exc)}") from None
    found: Any = module
    for part in attr.split("."):
        if not hasattr(found, part):
            names = [n for n in dir(found) if not n.startswith("_")]
            raise SourceError(f"{module_name} has no {attr!r}{did_you_mean(part, names)}")
        found = getattr(found, part)
    if not callable(found):
        raise SourceError(f"{target} is a {type(found).__name__}, not something to call")
    try:
        model = found()
    except Exception as exc:  # the user's code: reported, never a traceback
        raise SourceError(f"calling {target}() failed: {type(exc).__name__}: {_first_line(exc)}") from None
    if not isinstance(model, torch.nn.Module):
        raise SourceError(f"{target}() returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else "(no message)"


def _unused(model: Any, called: Any, read: set[str]) -> list[str]:
    """Notes naming the modules whose parameters the traced forward never touches (GoogLeNet's
    auxiliary classifiers in eval mode): left out, so the source's own count is larger."""
    prefixes = tuple(f"{path}." for path in called)

    def used(name: str) -> bool:
        return name in read or name.startswith(prefixes)

    tensors = {**dict(model.named_parameters()), **dict(model.named_buffers())}
    params = {name for name, _ in model.named_parameters()}
    unused = {name for name in tensors if not used(name) and not name.endswith("num_batches_tracked")}
    if not unused:
        return []
    groups: dict[str, list[str]] = {}
    for name in sorted(unused):
        parts = name.split(".")
        for depth in range(1, len(parts)):
            prefix = ".".join(parts[:depth])
            inside = [t for t in tensors if t.startswith(prefix + ".")
                      and not t.endswith("num_batches_tracked")]
            if all(t in unused for t in inside):
                groups.setdefault(prefix, []).append(name)
                break
        else:
            groups.setdefault(name, []).append(name)
    notes = []
    for prefix, names in groups.items():
        owner = model.get_submodule(prefix) if prefix not in tensors else None
        kind = f" ({type(owner).__name__})" if owner is not None else ""
        count = sum(tensors[n].numel() for n in names if n in params)
        buffers = sum(tensors[n].numel() for n in names if n not in params)
        extra = f" and {buffers:,} buffer values" if buffers else ""
        notes.append(f"{prefix}{kind}: {count:,} parameters{extra} the traced forward (eval mode) "
                     "never uses; left out")
    return notes
