"""Source of the small modules an exported file defines where torch.nn has none.

Each is written out only when the network uses it. They compute exactly what cnncalc's
NumPy forward does (tests/test_export_torch.py runs both on the same weights).
"""
from __future__ import annotations

_ALIGN = '''
def align(xs):
    """Give inputs with fewer axes size-1 axes after the batch axis, so that they broadcast
    as cnncalc's shapes (without the batch) do in NumPy."""
    rank = max(x.dim() for x in xs)
    return [x.reshape(x.shape[:1] + (1,) * (rank - x.dim()) + x.shape[1:]) for x in xs]
'''

_TRIM = '''
def trim_windows(y, x, pads, stride):
    """ceil_mode: drop a last window that would start in the right padding (PyTorch's rule for
    its own padding, which F.pad's padding would otherwise let through)."""
    rank = x.dim() - 2
    strides = stride if isinstance(stride, tuple) else (stride,) * rank
    for axis in range(rank):
        before = pads[2 * (rank - 1 - axis)]
        windows = -(-(x.shape[2 + axis] + before) // strides[axis])
        y = y.narrow(2 + axis, 0, min(windows, y.shape[2 + axis]))
    return y
'''

_FIXED = {
    "align": _ALIGN,
    "trim_windows": _TRIM,
    "Add": '''
class Add(nn.Module):
    """The element-wise sum of the inputs (NumPy broadcasting)."""

    def forward(self, *xs):
        xs = align(xs)
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out
''',
    "Multiply": '''
class Multiply(nn.Module):
    """The element-wise product of the inputs (NumPy broadcasting: a squeeze-excite gate)."""

    def forward(self, *xs):
        xs = align(xs)
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out
''',
    "Concat": '''
class Concat(nn.Module):
    """The inputs joined along one axis."""

    def __init__(self, dim=1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs):
        return torch.cat(xs, dim=self.dim)
''',
    "Slice": '''
class Slice(nn.Module):
    """Positions start, start + step, ... before stop of one axis."""

    def __init__(self, dim, start, stop, step=1):
        super().__init__()
        self.dim, self.start, self.stop, self.step = dim, start, stop, step

    def forward(self, x):
        index = (slice(None),) * self.dim + (slice(self.start, self.stop, self.step),)
        return x[index]
''',
    "ChannelShuffle": '''
class ChannelShuffle(nn.Module):
    """Interleave the channels of `groups` groups (ShuffleNet)."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def forward(self, x):
        n, c, *rest = x.shape
        x = x.reshape(n, self.groups, c // self.groups, *rest)
        return x.transpose(1, 2).reshape(n, c, *rest)
''',
    "Scale": '''
class Scale(nn.Module):
    """A learnable multiplier per channel (ConvNeXt's layer scale)."""

    def __init__(self, channels, init=1.0):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(init)))

    def forward(self, x):
        return x * self.weight.reshape(-1, *(1,) * (x.dim() - 2))
''',
    "DropPath": '''
class DropPath(nn.Module):
    """Stochastic depth: in training, zero a whole sample (mode "row") or the whole batch
    ("batch") with probability `rate` and scale the rest by 1 / (1 - rate), as torchvision's
    StochasticDepth; the identity in eval mode."""

    def __init__(self, rate=0.0, mode="row"):
        super().__init__()
        self.rate, self.mode = rate, mode

    def forward(self, x):
        if not self.training or self.rate == 0.0:
            return x
        keep = 1.0 - self.rate
        shape = (x.shape[0],) + (1,) * (x.dim() - 1) if self.mode == "row" else (1,) * x.dim()
        mask = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(keep)
        return x * mask / keep if keep > 0.0 else x * mask
''',
    "ChannelPad": '''
class ChannelPad(nn.Module):
    """Zero channels added before and after the channels (ResNet's option-A shortcut)."""

    def __init__(self, before, after):
        super().__init__()
        self.before, self.after = before, after

    def forward(self, x):
        return F.pad(x, (0, 0) * (x.dim() - 2) + (self.before, self.after))
''',
    "ChannelDense": '''
class ChannelDense(nn.Linear):
    """nn.Linear over the channels at every position of a channels-first tensor (ConvNeXt's
    pointwise layers)."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
    "ChannelLayerNorm": '''
class ChannelLayerNorm(nn.LayerNorm):
    """nn.LayerNorm over the channels at every position of a channels-first tensor."""

    def forward(self, x):
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
''',
}

_PADDED_CONV = '''
class PaddedConv{n}d(nn.Conv{n}d):
    """nn.Conv{n}d with zero padding that may differ before and after (TF/Keras 'same')."""

    def __init__(self, *args, pads, **kwargs):
        super().__init__(*args, **kwargs)
        self.pads = pads  # F.pad's order: (before, after) of the last axis first

    def forward(self, x):
        return super().forward(F.pad(x, self.pads))
'''

_CROPPED_DECONV = '''
class CroppedConvTranspose{n}d(nn.ConvTranspose{n}d):
    """nn.ConvTranspose{n}d cropping its output by different amounts before and after an axis
    (PyTorch's padding crops both sides alike)."""

    def __init__(self, *args, crops, **kwargs):
        super().__init__(*args, **kwargs)
        self.crops = crops  # (before, after) per spatial axis

    def forward(self, x):
        y = super().forward(x)
        for dim, (before, after) in enumerate(self.crops, start=2):
            y = y.narrow(dim, before, y.shape[dim] - before - after)
        return y
'''

_PADDED_MAX = '''
class PaddedMaxPool{n}d(nn.MaxPool{n}d):
    """nn.MaxPool{n}d with padding that may differ before and after; the padding is -inf, so
    it is never a maximum."""

    def __init__(self, *args, pads, **kwargs):
        super().__init__(*args, **kwargs)
        self.pads = pads  # F.pad's order: (before, after) of the last axis first

    def forward(self, x):
        y = super().forward(F.pad(x, self.pads, value=float("-inf")))
        return trim_windows(y, x, self.pads, self.stride) if self.ceil_mode else y
'''

_PADDED_AVG = '''
class PaddedAvgPool{n}d(nn.AvgPool{n}d):
    """nn.AvgPool{n}d with zero padding that may differ before and after."""

    def __init__(self, *args, pads, **kwargs):
        super().__init__(*args, **kwargs)
        self.pads = pads  # F.pad's order: (before, after) of the last axis first

    def forward(self, x):
        y = F.avg_pool{n}d(F.pad(x, self.pads), self.kernel_size, self.stride, 0, self.ceil_mode)
        if not self.count_include_pad:  # divide by the inputs a window covers, not its size
            covered = F.pad(torch.ones_like(x[:1, :1]), self.pads)
            y = y / F.avg_pool{n}d(covered, self.kernel_size, self.stride, 0, self.ceil_mode)
        return trim_windows(y, x, self.pads, self.stride) if self.ceil_mode else y
'''

_RANKED = {"PaddedConv": _PADDED_CONV, "CroppedConvTranspose": _CROPPED_DECONV,
           "PaddedMaxPool": _PADDED_MAX, "PaddedAvgPool": _PADDED_AVG}

# What a helper uses of the others.
_NEEDS = {"Add": ("align",), "Multiply": ("align",)}


def helper_source(name: str) -> str:
    """The definition of one helper (`PaddedConv2d`, `Add`...)."""
    if name in _FIXED:
        return _FIXED[name].strip("\n")
    stem, rank = name[:-2], name[-2]
    return _RANKED[stem].replace("{n}", rank).strip("\n")


def with_dependencies(names: list[str]) -> list[str]:
    """The helpers to write, functions first, each once, in a fixed order."""
    wanted = dict.fromkeys(n for name in names for n in (*_NEEDS.get(name, ()), name))
    functions = [n for n in wanted if n[0].islower()]
    return functions + sorted(n for n in wanted if n[0].isupper())
