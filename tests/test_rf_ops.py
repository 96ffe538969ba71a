"""Each op's receptive-field rule (ops/rfmap.py) against its definition, written out here by
brute force on an unbounded grid, and the per-op numbers cnncalc derives from it."""
from __future__ import annotations

from fractions import Fraction
from math import ceil, floor

import pytest
from helpers import graph

from cnncalc.analysis.rf import analyze_rf
from cnncalc.ops import rfmap
from cnncalc.ops.registry import ops
from cnncalc.ops.window import AxisWindow

UNITS = range(-7, 25)  # output units checked, including some beyond both ends


def taps_of(amap: rfmap.AxisMap) -> dict[int, set[int]]:
    return {o: set(amap.taps(o)) for o in UNITS}


@pytest.mark.parametrize(("k", "s", "d", "p"), [(3, 1, 1, 1), (3, 2, 2, 0), (1, 2, 1, 0),
                                                 (4, 3, 1, 2), (2, 2, 3, 1)])
def test_window_reads_o_times_stride_minus_pad_plus_dilated_taps(k: int, s: int, d: int, p: int) -> None:
    amap = rfmap.window(AxisWindow(50, k, s, d, p, p))
    assert taps_of(amap) == {o: {o * s - p + t * d for t in range(k)} for o in UNITS}


@pytest.mark.parametrize(("k", "s", "d", "p"), [(3, 2, 1, 1), (2, 2, 1, 0), (1, 2, 1, 0),
                                                 (4, 3, 2, 1), (5, 2, 1, 2), (3, 1, 2, 0)])
def test_transposed_is_the_scatter_read_backwards(k: int, s: int, d: int, p: int) -> None:
    amap = rfmap.transposed(AxisWindow(20, k, s, d, p, p))
    scattered: dict[int, set[int]] = {o: set() for o in UNITS}
    for i in range(-30, 60):  # input i adds into outputs i*s - p + t*d
        for t in range(k):
            o = i * s - p + t * d
            if o in scattered:
                scattered[o].add(i)
    assert taps_of(amap) == scattered


@pytest.mark.parametrize("scale", [2, 3, Fraction(3, 2), Fraction(5, 2), Fraction(1, 2)])
def test_nearest_reads_floor_of_o_over_scale(scale: Fraction) -> None:
    amap = rfmap.nearest(Fraction(scale))
    assert taps_of(amap) == {o: {floor(o / Fraction(scale))} for o in UNITS}


@pytest.mark.parametrize("scale", [2, 3, 4, Fraction(3, 2)])
def test_linear_reads_the_neighbours_with_nonzero_weight(scale: Fraction) -> None:
    amap = rfmap.linear(Fraction(scale), 10, 10)
    for o in UNITS:
        x = (o + Fraction(1, 2)) / Fraction(scale) - Fraction(1, 2)
        weights = {floor(x): 1 - (x - floor(x)), floor(x) + 1: x - floor(x)}
        assert set(amap.taps(o)) == {i for i, w in weights.items() if w > 0}, o


def test_linear_align_corners_samples_o_times_in_minus_1_over_out_minus_1() -> None:
    amap = rfmap.linear(None, 7, 14)
    for o in range(14):
        x = Fraction(o * 6, 13)
        assert set(amap.taps(o)) == ({floor(x)} if x == floor(x) else {floor(x), floor(x) + 1})


@pytest.mark.parametrize(("n", "out"), [(7, 7), (14, 7), (10, 4), (6, 4), (5, 3)])
def test_adaptive_bins_follow_pytorch(n: int, out: int) -> None:
    amap = rfmap.bins(n, out)
    for o in range(out):
        assert set(amap.taps(o)) == set(range(floor(o * n / out), ceil((o + 1) * n / out)))


def test_pieces_of_a_spatial_concat() -> None:
    first, second = rfmap.piece(0, 3, 5), rfmap.piece(3, 2, 5)
    assert [first.taps(o) for o in range(5)] == [(0,), (1,), (2,), (), ()]
    assert [second.taps(o) for o in range(5)] == [(), (), (), (0,), (1,)]


def test_a_spatial_concat_of_different_strides_is_non_uniform_not_misaligned() -> None:
    result = analyze_rf(graph("""
        input: [1, 16]
        layers:
          - conv: {filters: 1, kernel: 1, stride: 2, name: sparse}
          - slice: {axis: 1, stop: 8, in: input, name: left}
          - concat: {in: [sparse, left], axis: 1, name: joined}
    """))
    joined = result["joined"]
    assert joined.aligned and not joined.uniform and not joined.misaligned
    assert [joined.region((j,)) for j in (0, 7, 8, 15)] == [((0, 0),), ((14, 14),), ((0, 0),),
                                                            ((7, 7),)]
    # the strided 1x1 conv reads the even positions, the slice 0..7: 9, 11, 13, 15 are unread
    [warning] = result.warnings
    assert warning.code == "rf-unread"
    assert "[9, 9], [11, 11], [13, 13], [15, 15] along spatial axis 1 (4 of 16)" in warning.message


def test_reduce_finds_the_shortest_period() -> None:
    # kernel 4, stride 2, pad 1: every output unit reads two inputs, one phase apart.
    amap = rfmap.transposed(AxisWindow(10, 4, 2, 1, 1, 1))
    assert amap.period_out == 2
    assert rfmap.reduce(rfmap.AxisMap(2, 2, ((0, 1), (1, 2)))) == rfmap.AxisMap(1, 1, ((0, 1),))


# -- numbers per op ----------------------------------------------------------------------

def numbers(spec: str, layer: str):  # type: ignore[no-untyped-def]
    rf = analyze_rf(graph(spec))[layer]
    return rf.size, rf.stride, rf.padding


def test_dilation_uses_the_effective_kernel() -> None:
    # k_eff = 2*(3-1)+1 = 5, then 5 + (3-1)*3*1 = 11 with dilation 3.
    spec = """
        input: [1, 40, 40]
        layers:
          - conv: {filters: 1, kernel: 3, dilation: 2, padding: 2, name: a}
          - conv: {filters: 1, kernel: 3, dilation: [3, 1], name: b}
    """
    assert numbers(spec, "a") == ((5, 5), (1, 1), (2, 2))
    assert numbers(spec, "b") == ((11, 7), (1, 1), (2, 2))


def test_same_padding_puts_the_odd_pixel_after() -> None:
    # 'same', k=3, s=2: on 10 the output is 5 and the total pad 1 -> (0, 1); on 9, 2 -> (1, 1).
    # Then k=2, s=1: total pad 1 -> (0, 1), so P does not move.
    spec = """
        input: [1, 10, 9]
        layers:
          - conv: {filters: 1, kernel: 3, stride: 2, padding: same, name: a}
          - conv: {filters: 1, kernel: 2, padding: same, name: b}
    """
    assert numbers(spec, "a") == ((3, 3), (2, 2), (0, 1))
    assert numbers(spec, "b") == ((5, 5), (2, 2), (0, 1))


def test_ceil_mode_changes_the_size_only() -> None:
    floor_mode = numbers("input: [1, 11]\nlayers:\n  - maxpool: {kernel: 2, name: p}\n", "p")
    ceil_mode = analyze_rf(graph("input: [1, 11]\nlayers:\n"
                                 "  - maxpool: {kernel: 2, ceil_mode: true, name: p}\n"))
    assert ceil_mode["p"].shape == (1, 6) and floor_mode == ((2,), (2,), (0,))
    assert (ceil_mode["p"].size, ceil_mode["p"].stride, ceil_mode["p"].padding) == floor_mode


def test_1x1_and_strided_1x1_and_depthwise() -> None:
    spec = """
        input: [8, 16, 16]
        layers:
          - conv: {filters: 8, kernel: 3, padding: 1, name: a}
          - conv: {filters: 8, kernel: 1, name: b}
          - conv: {filters: 8, kernel: 1, stride: 2, name: c}
          - conv: {groups: depthwise, kernel: 3, padding: 1, name: d}
          - conv: {filters: 16, kernel: 3, groups: 4, padding: 1, name: e}
    """
    assert numbers(spec, "b") == numbers(spec, "a") == ((3, 3), (1, 1), (1, 1))
    assert numbers(spec, "c") == ((3, 3), (2, 2), (1, 1))
    assert numbers(spec, "d") == ((7, 7), (2, 2), (3, 3))
    assert numbers(spec, "e") == ((11, 11), (2, 2), (5, 5))


def test_transposed_conv_and_upsample_give_fractional_strides() -> None:
    spec = """
        input: [1, 12]
        layers:
          - conv: {filters: 1, kernel: 3, stride: 3, name: a}
          - deconv: {filters: 1, kernel: 2, stride: 2, name: b}
          - upsample: {scale: 3, name: c}
          - deconv: {filters: 1, kernel: 4, stride: 2, padding: 1, name: d}
    """
    result = analyze_rf(graph(spec))
    assert result["b"].stride == (Fraction(3, 2),) and not result["b"].uniform
    assert result["c"].stride == (Fraction(1, 2),)
    assert result["d"].stride == (Fraction(1, 4),)


def test_elementwise_ops_keep_the_receptive_field() -> None:
    spec = """
        input: [2, 20, 20]
        layers:
          - conv: {filters: 4, kernel: 5, stride: 2, padding: 2, name: a}
          - bn
          - relu
          - dropout: 0.1
          - channel_shuffle: 2
          - lrn: 3
          - layernorm
          - softmax
          - slice: {start: 0, stop: 2, name: b}
    """
    assert numbers(spec, "b") == numbers(spec, "a") == ((5, 5), (2, 2), (2, 2))


def test_pad_and_crop_shift_the_offset() -> None:
    spec = """
        input: [1, 20, 20]
        layers:
          - pad: [[3, 0], [0, 0]]
          - conv: {filters: 1, kernel: 3, name: a}
          - slice: {axis: 2, start: 4, name: b}
    """
    assert numbers(spec, "a") == ((3, 3), (1, 1), (3, 0))
    assert numbers(spec, "b") == ((3, 3), (1, 1), (3, -4))


def test_a_strided_slice_is_a_stride() -> None:
    # conv a: 3 wide, unit 0 reads -1..1; slice start 1 step 2: unit o is a-unit 1 + 2o, which
    # reads 2o .. 2o + 2 (size 3, stride 2, no padding); the other axis keeps a's numbers.
    spec = """
        input: [1, 20, 20]
        layers:
          - conv: {filters: 1, kernel: 3, padding: 1, name: a}
          - slice: {axis: 1, start: 1, step: 2, name: b}
          - conv: {filters: 1, kernel: 3, name: c}
    """
    assert numbers(spec, "b") == ((3, 3), (2, 1), (0, 1))
    # c: 3 units of b, 2 apart: 3 + 2*2 = 7 along axis 1; 5 along axis 2.
    assert numbers(spec, "c") == ((7, 5), (2, 1), (0, 1))


def test_channel_ops_keep_the_receptive_field() -> None:
    spec = """
        input: [2, 20, 20]
        layers:
          - conv: {filters: 4, kernel: 5, stride: 2, padding: 2, name: a}
          - channel_pad: {before: 2, after: 2}
          - channel_dense: 3
          - scale: 0.5
          - drop_path: 0.1
          - slice: {start: 1, step: 2, name: b}
    """
    assert numbers(spec, "b") == numbers(spec, "a") == ((5, 5), (2, 2), (2, 2))


@pytest.mark.parametrize(("op", "is_global"), [("gap", True), ("gmp", True),
                                               ("adaptive_avgpool: 1", True),
                                               ("adaptive_maxpool: [4, 4]", False),
                                               ("groupnorm: 2", True),
                                               ("layernorm: {over: all}", True),
                                               ("layernorm: {over: channels}", False)])
def test_ops_that_mix_every_position_are_global(op: str, is_global: bool) -> None:
    result = analyze_rf(graph(f"input: [4, 8, 8]\nlayers:\n  - conv: {{filters: 4, kernel: 3}}\n"
                              f"  - {op}\n  - flatten\n  - dense: 2\n"))
    layers = list(result.layers.values())
    assert layers[1].is_global == is_global
    assert layers[2].is_global and layers[3].is_global  # flatten, dense


def test_adaptive_pool_to_the_same_size_is_the_identity() -> None:
    spec = ("input: [1, 12, 12]\nlayers:\n  - conv: {filters: 1, kernel: 5, name: a}\n"
            "  - adaptive_avgpool: {output: 8, name: b}\n")
    assert numbers(spec, "b") == numbers(spec, "a")


def test_softmax_over_a_spatial_axis_reads_that_whole_axis() -> None:
    result = analyze_rf(graph("input: [1, 10, 12]\nlayers:\n  - conv: {filters: 1, kernel: 3, name: a}\n"
                              "  - softmax: {axis: 2, name: b}\n"))
    b = result["b"]
    assert not b.is_global
    assert b.size == (3, 12) and b.stride == (1, 0)


def test_gates_are_global_with_a_local_part() -> None:
    result = analyze_rf(graph("""
        input: [4, 16, 16]
        layers:
          - conv: {filters: 4, kernel: 3, padding: 1, name: x}
          - gap
          - sigmoid: {name: gate}
          - multiply: {in: [x, gate], name: gated}
          - conv: {filters: 4, kernel: 3, padding: 1, name: after}
    """))
    assert result["gate"].is_global and result["gate"].local is None
    gated, after = result["gated"], result["after"]
    assert gated.is_global and gated.size is None
    assert [a.size for a in gated.local] == [3, 3] and [a.size for a in after.local] == [5, 5]


def test_broadcast_of_a_local_size_1_operand_reads_its_only_unit() -> None:
    result = analyze_rf(graph("""
        input: [2, 9, 9]
        layers:
          - conv: {filters: 2, kernel: 9, name: whole}
          - multiply: {in: [input, whole], name: m}
    """))
    m = result["m"]
    assert not m.is_global and not m.aligned  # stride 0 (one unit for all) vs stride 1
    assert m.region((0, 0)) == ((0, 8), (0, 8))


def test_every_op_declares_a_rule_for_its_usual_input() -> None:
    spec = """
        input: [4, 12, 12]
        layers:
          - conv: {filters: 4, kernel: 3, padding: 1, name: x}
          - deconv: {filters: 4, kernel: 2, stride: 2}
          - maxpool: 2
          - avgpool: 3
          - adaptive_avgpool: 4
          - adaptive_maxpool: 2
          - upsample: 2
          - bn
          - layernorm
          - groupnorm: 2
          - lrn: 3
          - relu
          - relu6
          - leaky_relu
          - sigmoid
          - tanh
          - gelu
          - silu
          - hardswish
          - hardsigmoid
          - identity
          - softmax
          - dropout
          - pad: 1
          - channel_shuffle: 2
          - slice: {axis: 1, start: 1, stop: 5}
          - slice: {axis: 2, step: 2}
          - channel_pad: {after: 4}
          - channel_dense: 4
          - scale
          - drop_path: 0.2
          - concat: {in: [x, x], axis: 2}
          - add: {in: [x, x]}
          - multiply: {in: [x, x]}
          - gmp
          - gap: {in: x}
          - flatten
          - dense: 3
    """
    g = graph(spec)
    assert {layer.op_name for layer in g.layers} == set(ops())
    result = analyze_rf(g)
    assert set(result.layers) == {layer.name for layer in g.layers}


@pytest.mark.parametrize("k", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("s", [1, 2, 3, 4, 6])
@pytest.mark.parametrize("d", [1, 2, 3, 4])
@pytest.mark.parametrize("p", [0, 1, 2, 5])
def test_transposed_closed_form_over_many_geometries(k: int, s: int, d: int, p: int) -> None:
    amap = rfmap.transposed(AxisWindow(20, k, s, d, p, p))
    scattered: dict[int, set[int]] = {o: set() for o in UNITS}
    for i in range(-40, 80):
        for t in range(k):
            if (o := i * s - p + t * d) in scattered:
                scattered[o].add(i)
    assert taps_of(amap) == scattered
    assert all(list(amap.taps(o)) == sorted(amap.taps(o)) for o in UNITS)  # ascending


def test_maps_of_huge_periods_cost_nothing_to_build() -> None:
    """A spec's numbers (scale 10^12, 10^12 bins, a stride of 2^40, a kernel of 2^62) set the
    period or the tap count; building the map and reading one phase stays instant."""
    big = 10**12
    near = rfmap.nearest(Fraction(big))
    assert near.period_out == big and near.taps(big + 7) == (1,)
    assert rfmap.nearest_exact(Fraction(big)).taps(big - 1) == (0,)
    assert rfmap.bins(10, big).taps(big - 1) == range(9, 10)
    assert rfmap.linear(Fraction(big), 3, 3 * big).period_out == big
    assert rfmap.cubic(None, 5, big).taps(big - 1) == (4,)
    tr = rfmap.transposed(AxisWindow(4, 3, 2**40, 1, 0, 0))
    assert tr.period_out == 2**40 and list(tr.taps(2)) == [0] and not tr.taps(3)
    wide = rfmap.window(AxisWindow(2**63, 2**62, 1, 1, 0, 0))
    assert len(wide.taps(5)) == 2**62 and wide.taps(5)[-1] == 5 + 2**62 - 1
    assert rfmap.piece(3, 2, big).taps(4) == (1,)
