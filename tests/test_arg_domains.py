"""Every argument of every op refuses values outside its declared domain, at the value.

Generated from the declarations: each op's first forward case (tests/forward_cases.py) is
the valid base layer, and every value `Arg.type.invalid()` lists for every argument is put
in it in turn; a new op or argument is covered without touching this file. PyTorch refuses
the same out-of-range numbers where it exposes the argument, except where cnncalc is
deliberately stricter (listed, and checked to still be true).
"""
from __future__ import annotations

import math

import pytest
import yaml
from forward_cases import CASES
from helpers import where

from cnncalc.ops.args import INT64_MAX, Float, Int
from cnncalc.ops.registry import ops


def _yaml(value) -> str:
    if isinstance(value, float) and math.isnan(value):
        return ".nan"
    if isinstance(value, float) and math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(_yaml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_yaml(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _base_cases() -> dict[str, tuple[tuple[int, ...], list]]:
    """op -> (input shape, layer items) from its first forward case."""
    found: dict[str, tuple[tuple[int, ...], list]] = {}
    for case in CASES:
        items = yaml.safe_load(case.layers.replace("\n  ", "\n"))
        last = items[-1]
        (op, _), = last.items() if isinstance(last, dict) else ((last, None),)
        found.setdefault(op, (case.shape, items))
    return found


BASE = _base_cases()


def spec_with(op: str, arg: str, value) -> tuple[str, int, int]:
    """A spec whose op layer has `arg: value`, and the (line, col) where the value starts."""
    shape, items = BASE[op]
    lines = [f"input: {list(shape)}", "layers:"]
    for item in items[:-1]:
        lines.append(f"  - {_yaml(item)}")
    (name, args), = items[-1].items()
    args = {k: v for k, v in (args or {}).items() if k != arg}
    prefix = f"  - {name}: {{"
    body = ", ".join(f"{k}: {_yaml(v)}" for k, v in args.items())
    prefix += body + (", " if body else "") + f"{arg}: "
    lines.append(prefix + _yaml(value) + "}")
    return "\n".join(lines) + "\n", len(lines), len(prefix) + 1


DOMAIN_CASES = [pytest.param(op.name, arg.name, value, id=f"{op.name}-{arg.name}-{_yaml(value)[:20]}")
                for op in ops().values() for arg in op.arguments for value in arg.type.invalid()]


def test_every_argument_has_values_to_refuse() -> None:
    assert all(arg.type.invalid() for op in ops().values() for arg in op.arguments)
    assert set(BASE) == set(ops())


@pytest.mark.parametrize(("op", "arg", "value"), DOMAIN_CASES)
def test_a_value_outside_the_domain_is_refused_at_the_value(op: str, arg: str, value) -> None:
    spec, line, col = spec_with(op, arg, value)
    # The YAML layer refuses what is no number at all (.nan, .inf, an integer of hundreds of
    # digits) before any op sees it; every other value reaches the argument's domain check.
    yaml_refuses = isinstance(value, float) and not math.isfinite(value) \
        or isinstance(value, int) and len(str(abs(value))) > 400
    expected = ("bad-number", "too-large") if yaml_refuses else ("bad-arg",)
    found = where(spec)
    assert len(found) == 1 and found[0][:2] == (line, col) and found[0][2] in expected, spec


@pytest.mark.parametrize("op", sorted(ops()))
def test_the_base_layers_are_valid(op: str) -> None:
    """The generated specs differ from a valid one only in the bad value."""
    from helpers import graph

    shape, items = BASE[op]
    graph(f"input: {list(shape)}\nlayers:\n" + "".join(f"  - {_yaml(i)}\n" for i in items))


def test_domains_show_in_the_reference() -> None:
    from cnncalc.report.opref import op_reference

    text = op_reference(markdown=False)
    assert "rate: number 0 .. 1" in text
    assert "eps: number > 0" in text
    assert "kernel: int 1 .. 2^63-1, or one per axis" in text
    assert "-(10**" not in text and "1000000000" not in text


def test_huge_and_non_finite_numbers_are_refused_quickly() -> None:
    assert Int(1).invalid()[:2] == [0, INT64_MAX + 1]
    for value in (float("nan"), float("inf"), 10**400):
        with pytest.raises(ValueError, match="finite"):
            Float().check(value)


# ------------------------------------------------------------- PyTorch refuses the same values

def _torch_calls():
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    x = torch.randn(1, 4, 8, 8)
    return {
        ("conv", "kernel"): lambda v: nn.Conv2d(4, 4, v)(x),
        ("conv", "stride"): lambda v: F.conv2d(x, torch.zeros(4, 4, 3, 3), stride=v),
        ("conv", "padding"): lambda v: F.conv2d(x, torch.zeros(4, 4, 3, 3), padding=v),
        ("conv", "dilation"): lambda v: F.conv2d(x, torch.zeros(4, 4, 3, 3), dilation=v),
        ("conv", "groups"): lambda v: nn.Conv2d(4, 4, 3, groups=v)(x),
        ("deconv", "kernel"): lambda v: nn.ConvTranspose2d(4, 4, v)(x),
        ("deconv", "stride"): lambda v: F.conv_transpose2d(x, torch.zeros(4, 4, 3, 3), stride=v),
        ("deconv", "padding"): lambda v: F.conv_transpose2d(x, torch.zeros(4, 4, 3, 3), padding=v),
        ("deconv", "output_padding"): lambda v: F.conv_transpose2d(x, torch.zeros(4, 4, 3, 3), stride=2,
                                                                   output_padding=v),
        ("deconv", "dilation"): lambda v: F.conv_transpose2d(x, torch.zeros(4, 4, 3, 3), dilation=v),
        ("deconv", "groups"): lambda v: nn.ConvTranspose2d(4, 4, 3, groups=v)(x),
        ("dropout", "rate"): lambda v: F.dropout(x, v),
        ("groupnorm", "groups"): lambda v: F.group_norm(x, v),
        ("lrn", "size"): lambda v: nn.LocalResponseNorm(v)(x),
        ("maxpool", "kernel"): lambda v: F.max_pool2d(x, v),
        ("maxpool", "stride"): lambda v: F.max_pool2d(x, 2, v),
        ("maxpool", "padding"): lambda v: F.max_pool2d(x, 3, 1, v),
        ("maxpool", "dilation"): lambda v: F.max_pool2d(x, 2, 2, 0, v),
        ("avgpool", "kernel"): lambda v: F.avg_pool2d(x, v),
        ("avgpool", "stride"): lambda v: F.avg_pool2d(x, 2, v),
        ("avgpool", "padding"): lambda v: F.avg_pool2d(x, 3, 1, v),
        ("channel_shuffle", "groups"): lambda v: nn.ChannelShuffle(v)(x),
        ("upsample", "scale"): lambda v: F.interpolate(x, scale_factor=float(v)),
        ("dense", "units"): lambda v: nn.Linear(4, v),
        ("adaptive_avgpool", "output"): lambda v: F.adaptive_avg_pool2d(x, v),
        ("adaptive_maxpool", "output"): lambda v: F.adaptive_max_pool2d(x, v),
        ("conv", "filters"): lambda v: nn.Conv2d(4, v, 3),
        ("bn", "eps"): lambda v: F.batch_norm(x, torch.zeros(4), torch.ones(4), eps=v),
        ("layernorm", "eps"): lambda v: F.layer_norm(x, (4, 8, 8), eps=v),
        ("groupnorm", "eps"): lambda v: F.group_norm(x, 2, eps=v),
        ("pad", "padding"): lambda v: F.pad(x, (v, v)),
    }


# Where cnncalc refuses a value PyTorch accepts, on purpose: an empty layer (0 filters, units
# or output positions) describes no network; eps 0 divides by zero on a constant channel; a
# negative pad is a crop (cnncalc has `slice` for that).
STRICTER = {("dense", "units", 0), ("conv", "filters", 0), ("deconv", "filters", 0),
            ("adaptive_avgpool", "output", 0), ("adaptive_maxpool", "output", 0),
            ("bn", "eps", 0), ("layernorm", "eps", 0), ("groupnorm", "eps", 0), ("pad", "padding", -1)}


def _torch_pairs():
    for op in ops().values():
        for arg in op.arguments:
            one = getattr(arg.type, "one", arg.type)
            for value in one.range.outside(isinstance(one, Int)) if hasattr(one, "range") else ():
                if abs(value) < 2**62:  # the int64 bound itself is an overflow in torch too
                    yield op.name, arg.name, int(value) if isinstance(one, Int) else value


@pytest.mark.torch
@pytest.mark.parametrize(("op", "arg", "value"), list(_torch_pairs()))
def test_pytorch_agrees_on_the_domain(op: str, arg: str, value) -> None:
    pytest.importorskip("torch")
    call = _torch_calls().get((op, arg))
    if call is None:
        pytest.skip("PyTorch has no such argument")
    if (op, arg, value) in STRICTER:
        call(value)  # PyTorch accepts it: cnncalc's refusal is a documented choice
        return
    with pytest.raises((RuntimeError, ValueError, ZeroDivisionError, TypeError)):
        call(value)


@pytest.mark.torch
@pytest.mark.parametrize(("op", "arg"), sorted([
    ("conv", "kernel"), ("conv", "stride"), ("conv", "padding"), ("conv", "dilation"), ("conv", "groups"),
    ("deconv", "output_padding"), ("deconv", "stride"), ("dropout", "rate"), ("groupnorm", "groups"),
    ("lrn", "size"), ("maxpool", "kernel"), ("maxpool", "stride"), ("maxpool", "padding"),
    ("avgpool", "padding"), ("channel_shuffle", "groups"), ("upsample", "scale"), ("dense", "units"),
    ("bn", "eps"), ("layernorm", "eps"), ("adaptive_avgpool", "output")]))
def test_what_pytorch_refuses_cnncalc_refuses(op: str, arg: str) -> None:
    """The other direction: probe values PyTorch refuses out of context are refused here too."""
    pytest.importorskip("torch")
    call = _torch_calls()[(op, arg)]
    declared = next(a for a in ops()[op].arguments if a.name == arg)
    integral = isinstance(getattr(declared.type, "one", declared.type), Int)
    probes = [-2, -1, 0, 1] if integral else [-1.0, 0.0, 0.5, 1.5, float("nan")]
    for value in probes:
        try:
            call(value)
        except (RuntimeError, ValueError, ZeroDivisionError, TypeError):
            with pytest.raises(ValueError):
                declared.type.check(value)


def _rules():
    """(layer on a [4, 8, 8] input, the same in PyTorch on (1, 4, 8, 8)) for rules that involve
    the input or several arguments: both must accept, or both refuse."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    x = torch.randn(1, 4, 8, 8)
    w = torch.zeros(4, 4, 3, 3)
    return [
        ("maxpool: {kernel: 3, padding: 2, dilation: 2}", lambda: F.max_pool2d(x, 3, 1, 2, 2)),
        ("maxpool: {kernel: 3, padding: 1, dilation: 2}", lambda: F.max_pool2d(x, 3, 1, 1, 2)),
        ("avgpool: {kernel: 2, padding: 2}", lambda: F.avg_pool2d(x, 2, 2, 2)),
        ("avgpool: {kernel: 4, padding: 2}", lambda: F.avg_pool2d(x, 4, 4, 2)),
        ("deconv: {filters: 4, kernel: 3, stride: 2, output_padding: 2}",
         lambda: F.conv_transpose2d(x, w, stride=2, output_padding=2)),
        ("deconv: {filters: 4, kernel: 3, stride: 1, dilation: 2, output_padding: 1}",
         lambda: F.conv_transpose2d(x, w, dilation=2, output_padding=1)),
        ("deconv: {filters: 4, kernel: 3, stride: 1, output_padding: 1}",
         lambda: F.conv_transpose2d(x, w, output_padding=1)),
        ("conv: {filters: 4, kernel: 3, groups: 3}", lambda: nn.Conv2d(4, 4, 3, groups=3)),
        ("conv: {filters: 6, kernel: 3, groups: 4}", lambda: nn.Conv2d(4, 6, 3, groups=4)),
        ("groupnorm: 3", lambda: F.group_norm(x, 3)),
        ("channel_shuffle: 3", lambda: nn.ChannelShuffle(3)(x)),
        ("channel_shuffle: 2", lambda: nn.ChannelShuffle(2)(x)),
        ("softmax: {axis: 3}", lambda: F.softmax(x, 4)),
        ("softmax: {axis: -3}", lambda: F.softmax(x, -3)),
        ("lrn: 10", lambda: nn.LocalResponseNorm(10)(x)),
        ("adaptive_avgpool: 20", lambda: F.adaptive_avg_pool2d(x, 20)),
        ("upsample: 0.1", lambda: F.interpolate(x, scale_factor=0.1)),
        ("upsample: {scale: 2, mode: nearest, align_corners: true}",
         lambda: F.interpolate(x, scale_factor=2.0, mode="nearest", align_corners=True)),
        ("upsample: {scale: 2, mode: bicubic, align_corners: true}",
         lambda: F.interpolate(x, scale_factor=2.0, mode="bicubic", align_corners=True)),
    ]


@pytest.mark.torch
def test_rules_between_arguments_agree_with_pytorch() -> None:
    pytest.importorskip("torch")
    from helpers import graph

    from cnncalc import SpecError

    for layer, call in _rules():
        try:
            call()
            torch_ok = True
        except (RuntimeError, ValueError, ZeroDivisionError, IndexError):
            torch_ok = False
        try:
            graph(f"input: [4, 8, 8]\nlayers:\n  - {layer}\n")
            ours = True
        except SpecError:
            ours = False
        assert ours == torch_ok, layer
