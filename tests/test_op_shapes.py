"""Every op's shape and parameter rule against independent oracles.

Oracles: a brute-force count of window positions (no formula), and PyTorch modules built
with the same arguments when torch is importable (their output shape and parameter count).
"""
from __future__ import annotations

import json

import pytest
from helpers import graph
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cnncalc import SpecError

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one_layer(shape: list[int], op: str, args: dict) -> tuple[tuple[int, ...], int, int] | None:
    """Output shape, params and buffers of a one-layer network, or None if cnncalc rejects it."""
    try:
        g = graph(f"input: {shape}\nlayers:\n  - {op}: {json.dumps(args)}\n")
    except SpecError:
        return None
    layer = g.layers[0]
    return layer.out_shape, layer.params, layer.buffers


def brute_force_positions(n: int, k: int, s: int, pb: int, pa: int, d: int, ceil: bool) -> int:
    """Count window starts by walking them: no output-size formula involved."""
    span = d * (k - 1) + 1
    padded = n + pb + pa
    count = 0
    for start in range(0, padded + s, s):
        if start + span <= padded:
            count += 1
        elif ceil and start < padded - span + s and start < n + pb:
            # PyTorch ceil_mode: one partial window past the last full one (rounding up), and
            # only when it starts inside the input or the left padding.
            count += 1
    return count


windows = st.tuples(st.integers(1, 20), st.integers(1, 5), st.integers(1, 3), st.integers(0, 2),
                    st.integers(1, 3))


@FAST
@given(windows, st.integers(1, 3))
def test_conv_output_size_matches_brute_force(window, rank) -> None:
    n, k, s, p, d = window
    expected = brute_force_positions(n, k, s, p, p, d, False)
    result = one_layer([2] + [n] * rank, "conv", {"filters": 3, "kernel": k, "stride": s,
                                                  "padding": p, "dilation": d})
    if expected <= 0:
        assert result is None
    else:
        assert result is not None and result[0] == (3,) + (expected,) * rank


@FAST
@given(windows, st.booleans())
def test_maxpool_ceil_mode_matches_brute_force(window, ceil) -> None:
    n, k, s, p, d = window
    assume(p <= k // 2)
    expected = brute_force_positions(n, k, s, p, p, d, ceil)
    result = one_layer([2, n], "maxpool", {"kernel": k, "stride": s, "padding": p, "dilation": d,
                                           "ceil_mode": ceil})
    if expected <= 0:
        assert result is None
    else:
        assert result is not None and result[0] == (2, expected)


@pytest.mark.parametrize("n,k,s,expected", [(5, 3, 1, 5), (5, 3, 2, 3), (6, 3, 2, 3), (7, 4, 3, 3)])
def test_tf_same_padding(n, k, s, expected) -> None:
    result = one_layer([1, n], "conv", {"filters": 1, "kernel": k, "stride": s, "padding": "same"})
    assert result is not None and result[0] == (1, expected)


def test_per_side_padding_and_non_square_kernels() -> None:
    result = one_layer([3, 10, 12], "conv", {"filters": 8, "kernel": [3, 1], "stride": [2, 1],
                                             "padding": [[0, 1], [2, 0]]})
    assert result == ((8, 5, 14), 8 * 3 * 3 + 8, 0)


# --- PyTorch as the oracle ---------------------------------------------------------------

def torch_module(op: str, args: dict, in_channels: int, rank: int):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    dims = {1: "1d", 2: "2d", 3: "3d"}[rank]
    if op == "conv":
        return getattr(nn, f"Conv{dims}")(in_channels, args["filters"], args["kernel"],
                                          stride=args["stride"], padding=args["padding"],
                                          dilation=args["dilation"], groups=args["groups"],
                                          bias=args["bias"])
    if op == "deconv":
        return getattr(nn, f"ConvTranspose{dims}")(
            in_channels, args["filters"], args["kernel"], stride=args["stride"],
            padding=args["padding"], output_padding=args["output_padding"],
            dilation=args["dilation"], groups=args["groups"], bias=args["bias"])
    if op == "maxpool":
        return getattr(nn, f"MaxPool{dims}")(args["kernel"], args["stride"], args["padding"],
                                             dilation=args["dilation"], ceil_mode=args["ceil_mode"])
    if op == "avgpool":
        return getattr(nn, f"AvgPool{dims}")(args["kernel"], args["stride"], args["padding"],
                                             ceil_mode=args["ceil_mode"])
    raise AssertionError(op)


def compare_with_torch(op: str, args: dict, shape: list[int]) -> None:
    torch = pytest.importorskip("torch")
    ours = one_layer(shape, op, args)
    try:
        module = torch_module(op, args, shape[0], len(shape) - 1)
        out = module(torch.zeros(1, *shape))
        if min(out.shape) == 0:
            raise ValueError("empty output")  # cnncalc reports this as an error
    except (RuntimeError, ValueError):
        assert ours is None, f"PyTorch rejects {op} {args} on {shape}, cnncalc gives {ours}"
        return
    assert ours is not None, f"cnncalc rejects {op} {args} on {shape}; PyTorch gives {tuple(out.shape)}"
    assert ours[0] == tuple(out.shape[1:])
    assert ours[1] == sum(p.numel() for p in module.parameters())


@pytest.mark.torch
@FAST
@given(st.integers(1, 3), st.integers(1, 12), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 2), st.sampled_from([1, 2]), st.booleans())
def test_conv_against_torch(rank, n, k, s, p, d, groups, bias) -> None:
    compare_with_torch("conv", {"filters": 4, "kernel": k, "stride": s, "padding": p, "dilation": d,
                                "groups": groups, "bias": bias}, [2] + [n] * rank)


@pytest.mark.torch
@FAST
@given(st.integers(1, 3), st.integers(1, 8), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(0, 2), st.integers(1, 2), st.sampled_from([1, 2]))
def test_deconv_against_torch(rank, n, k, s, p, op, d, groups) -> None:
    compare_with_torch("deconv", {"filters": 4, "kernel": k, "stride": s, "padding": p,
                                  "output_padding": op, "dilation": d, "groups": groups,
                                  "bias": True}, [2] + [n] * rank)


@pytest.mark.torch
@FAST
@given(st.integers(1, 3), st.integers(1, 12), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2),
       st.integers(1, 2), st.booleans(), st.sampled_from(["maxpool", "avgpool"]))
def test_pooling_against_torch(rank, n, k, s, p, d, ceil, op) -> None:
    args = {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil}
    if op == "maxpool":
        args["dilation"] = d
    else:
        args["dilation"] = 1
    ours_args = {key: v for key, v in args.items() if op == "maxpool" or key != "dilation"}
    torch = pytest.importorskip("torch")
    ours = one_layer([2] + [n] * rank, op, ours_args)
    try:
        out = torch_module(op, args, 2, rank)(torch.zeros(1, 2, *[n] * rank))
    except (RuntimeError, ValueError) as exc:
        # avg_pool3d alone refuses an unpadded input smaller than the kernel, although its 1-D
        # and 2-D siblings (and max_pool3d) accept it; cnncalc follows the consistent rule.
        assume("smaller than kernel size" not in str(exc))
        assert ours is None
        return
    assert ours is not None and ours[0] == tuple(out.shape[1:])


@pytest.mark.torch
@pytest.mark.parametrize("shape,out", [([3, 13, 7], [5, 3]), ([2, 9], 4), ([2, 5, 6, 7], [2, 3, 9])])
def test_adaptive_pool_against_torch(shape, out) -> None:
    torch = pytest.importorskip("torch")
    rank = len(shape) - 1
    sizes = out if isinstance(out, list) else [out] * rank
    module = getattr(torch.nn, f"AdaptiveAvgPool{rank}d")(tuple(sizes))
    expected = tuple(module(torch.zeros(1, *shape)).shape[1:])
    assert one_layer(shape, "adaptive_avgpool", {"output": out})[0] == expected
    assert one_layer(shape, "adaptive_maxpool", {"output": out})[0] == expected


@pytest.mark.torch
@pytest.mark.parametrize("shape,scale", [([3, 7, 5], 2), ([3, 7, 5], [1.5, 2.5]), ([2, 9], 3),
                                         ([1, 3, 4, 5], [2, 1, 3])])
def test_upsample_against_torch(shape, scale) -> None:
    torch = pytest.importorskip("torch")
    factor = tuple(scale) if isinstance(scale, list) else scale
    expected = torch.nn.functional.interpolate(torch.zeros(1, *shape), scale_factor=factor).shape
    assert one_layer(shape, "upsample", {"scale": scale})[0] == tuple(expected[1:])


@pytest.mark.torch
def test_norm_and_dense_params_against_torch() -> None:
    torch = pytest.importorskip("torch")
    nn = torch.nn
    bn = nn.BatchNorm2d(16)
    buffers = sum(b.numel() for b in bn.buffers() if b.dtype.is_floating_point)
    assert one_layer([16, 4, 4], "bn", {}) == ((16, 4, 4), sum(p.numel() for p in bn.parameters()),
                                               buffers)
    assert one_layer([6, 4, 4], "groupnorm", {"groups": 3})[1] == sum(
        p.numel() for p in nn.GroupNorm(3, 6).parameters())
    assert one_layer([6, 4, 4], "layernorm", {"over": "all"})[1] == sum(
        p.numel() for p in nn.LayerNorm([6, 4, 4]).parameters())
    assert one_layer([6, 4, 4], "layernorm", {})[1] == sum(
        p.numel() for p in nn.LayerNorm(6).parameters())
    assert one_layer([100], "dense", {"units": 7})[1] == sum(
        p.numel() for p in nn.Linear(100, 7).parameters())
    assert one_layer([96, 7, 7], "channel_dense", {"units": 384})[1] == sum(
        p.numel() for p in nn.Linear(96, 384).parameters())
    assert one_layer([96, 7, 7], "channel_dense", {"units": 10, "bias": False})[1] == 960


def test_new_ops_shapes_against_torch() -> None:
    """Option-A shortcut (x[:, :, ::2, ::2] then F.pad on the channels) and ConvNeXt's pwconv
    (nn.Linear on the channels-last tensor), run by PyTorch."""
    torch = pytest.importorskip("torch")
    x = torch.zeros(1, 16, 9, 8)
    sub = x[:, :, ::2, ::2]
    assert one_layer([16, 9, 8], "slice", {"axis": 1, "step": 2})[0][1] == sub.shape[2]
    padded = torch.nn.functional.pad(sub, (0, 0, 0, 0, 8, 8))
    assert one_layer([16, 5, 4], "channel_pad", {"before": 8, "after": 8})[0] == tuple(padded.shape[1:])
    y = torch.nn.Linear(16, 40)(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    assert one_layer([16, 9, 8], "channel_dense", {"units": 40})[0] == tuple(y.shape[1:])
    for n, start, stop, step in [(7, 0, 7, 2), (8, 1, 8, 3), (10, 2, 9, 4), (5, 4, 5, 3)]:
        ref = torch.zeros(1, 1, n)[:, :, start:stop:step].shape[2]
        assert one_layer([1, n], "slice", {"axis": 1, "start": start, "stop": stop,
                                           "step": step})[0] == (1, ref)


@pytest.mark.parametrize("op,args,shape,expected", [
    ("flatten", {}, [3, 4, 5], (60,)),
    ("pad", {"padding": [[1, 2], [0, 3]]}, [3, 4, 5], (3, 7, 8)),
    ("channel_shuffle", {"groups": 2}, [4, 3, 3], (4, 3, 3)),
    ("slice", {"start": 2}, [6, 3, 3], (4, 3, 3)),
    ("slice", {"start": 1, "stop": -1, "axis": -1}, [6, 3, 5], (6, 3, 3)),
    ("softmax", {"axis": -1}, [6, 3, 5], (6, 3, 5)),
    ("gmp", {}, [6, 3, 5, 2], (6, 1, 1, 1)),
    ("lrn", {"size": 5}, [6, 3, 5], (6, 3, 5)),
    ("leaky_relu", {"slope": 0.2}, [6, 3], (6, 3)),
    ("slice", {"axis": 1, "step": 2}, [6, 7, 4], (6, 4, 4)),
    ("slice", {"axis": 2, "start": 1, "stop": 6, "step": 3}, [6, 7, 8], (6, 7, 2)),
    ("channel_pad", {"before": 4, "after": 4}, [16, 8, 8], (24, 8, 8)),
    ("channel_dense", {"units": 12}, [3, 5, 5], (12, 5, 5)),
    ("scale", {}, [6, 3], (6, 3)),
    ("drop_path", {"rate": 0.1}, [6, 3], (6, 3)),
])
def test_shape_preserving_and_reshaping_ops(op, args, shape, expected) -> None:
    assert one_layer(shape, op, args)[0] == expected


def test_broadcasting_multiply_is_a_gate() -> None:
    g = graph("""\
        input: [8, 5, 5]
        layers:
          - gap: {name: squeeze}
          - conv: {filters: 8, kernel: 1}
          - sigmoid
          - multiply: {in: [input, sigmoid1]}
        """)
    assert g.layer("multiply1").out_shape == (8, 5, 5)


@FAST
@given(st.integers(1, 200), st.integers(1, 200))
def test_adaptive_bin_lengths_closed_form_matches_the_bins(n, o) -> None:
    from cnncalc.ops.pool import bin_lengths

    assert bin_lengths(n, o) == sum(-(-(i + 1) * n // o) - i * n // o for i in range(o))
