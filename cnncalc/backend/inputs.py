"""The sample a verify run feeds the network: a `.npy` array or an image file.

A `.npy` array may come with or without the batch axis; when the spec's input is written
channels-last (`layout: channels_last`) the array may be channels-last too. Images (PNG, JPEG
and whatever else Pillow reads) need the optional Pillow package: they become values in
[0, 1], grey for one channel, RGB for three, RGBA for four, resized (bilinear) to the spec's
input size when they differ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnncalc.backend.arrayfiles import ArrayFileError, Header, read_npy

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
MAX_PIXELS = 2**26  # 67M pixels (8192 x 8192): beyond any network input; checked before decoding


class InputError(Exception):
    """An input file that cannot feed the network; the message says why and what would."""


@dataclass
class Sample:
    x: np.ndarray  # (N, *input shape), channels first
    notes: list[str] = field(default_factory=list)


def load(path: str, shape: tuple[int, ...], layout: str = "channels_first", batch: int | None = None,
         dtype: np.dtype | str = "float32") -> Sample:
    """Read `path` as a batch for a network whose batchless input is `shape` (channels first).
    `batch` repeats a single sample (or must agree with the file's batch)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        sample = _npy(path, shape, layout)
    elif suffix in IMAGE_SUFFIXES:
        sample = _image(path, shape)
    else:
        raise InputError(f"cannot read '{suffix or path}' files as input: give a .npy array "
                         f"(channels first, with or without a batch axis) or an image "
                         f"({', '.join(IMAGE_SUFFIXES[:3])}, ...)")
    x = sample.x
    if x.shape[0] == 0:
        raise InputError("the array holds a batch of 0 samples")
    if batch is not None and batch != x.shape[0]:
        if x.shape[0] != 1:
            raise InputError(f"the file holds a batch of {x.shape[0]} but --batch is {batch}")
        x = np.repeat(x, batch, axis=0)
        sample.notes.append(f"the sample is repeated to a batch of {batch}")
    kind = np.dtype(dtype)
    if kind.kind == "f" and x.dtype.kind == "f" and x.dtype.itemsize > kind.itemsize and x.size:
        top = float(np.abs(x).max())
        if top > float(np.finfo(kind).max):
            raise InputError(f"the array holds {top:.3g}, beyond the range of {kind.name}; "
                             "use --dtype float64")
    sample.x = np.ascontiguousarray(x, dtype=kind)
    return sample


def _npy(path: str, shape: tuple[int, ...], layout: str) -> Sample:
    last = (*shape[1:], shape[0])
    forms = [(shape, False)] + ([(last, True)] if layout == "channels_last" and last != shape else [])

    def accept(header: Header) -> None:  # the shape is checked before the data is read
        if not any(header.shape == form or header.shape[1:] == form for form, _ in forms):
            raise InputError(_wrong_shape(header.shape, shape, layout, last))

    try:
        array = read_npy(path, accept)
    except ArrayFileError as exc:
        raise InputError(str(exc)) from None
    for form, channels_last in forms:
        if array.shape == form:
            x = array[None]
        elif array.ndim == len(form) + 1 and array.shape[1:] == form:
            x = array
        else:
            continue
        if channels_last:
            x = np.moveaxis(x, -1, 1)
        if not np.isfinite(x).all():
            raise InputError("the array contains NaN or infinite values")
        return Sample(x)
    raise InputError(_wrong_shape(array.shape, shape, layout, last))


def _wrong_shape(got: tuple[int, ...], shape: tuple[int, ...], layout: str, last: tuple[int, ...]) -> str:
    wanted = f"[{', '.join(map(str, shape))}]"
    if layout == "channels_last":
        wanted += f" or channels-last [{', '.join(map(str, last))}]"
    return (f"the array has shape [{', '.join(map(str, got))}] but the network takes "
            f"{wanted}, with or without a batch axis in front (--input sets another size)")


def _image(path: str, shape: tuple[int, ...]) -> Sample:
    try:
        from PIL import Image
    except ImportError:
        raise InputError("reading images needs Pillow (pip install pillow); or save the input "
                         "as a .npy array") from None
    if len(shape) != 3 or shape[0] not in _MODES:
        raise InputError(f"an image gives a [C, H, W] input with 1, 3 or 4 channels; the network "
                         f"takes [{', '.join(map(str, shape))}] (give a .npy array instead)")
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:  # reads the header only
                width, height = image.size
                if width * height > MAX_PIXELS:
                    raise InputError(f"the image declares {width}x{height} pixels, more than "
                                     f"{MAX_PIXELS:,}; it is not decoded")
                image.load()
                converted = image.convert(_MODES[shape[0]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError(f"the image is too large to decode: {exc}") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError(f"cannot read the image: {exc}") from None
    notes = []
    height, width = shape[1], shape[2]
    if converted.size != (width, height):
        notes.append(f"the {converted.size[0]}x{converted.size[1]} image is resized to "
                     f"{width}x{height} (bilinear)")
        converted = converted.resize((width, height), Image.Resampling.BILINEAR)
    pixels = np.asarray(converted, dtype=np.float32) / 255.0
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return Sample(np.moveaxis(pixels, -1, 0)[None], notes)
