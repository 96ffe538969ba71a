"""Constructor calls and Python literals: the pieces the exporter writes code from.

A `Call` is one `nn.Conv2d(3, 64, kernel_size=3, ...)`: the callable, its arguments (each
with the keyword that names it, also when written positionally: that name is what a block
class calls the argument when instances differ in it) and the helper definitions it needs.
"""
from __future__ import annotations

import json
import keyword
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnncalc.problems import Loc


class ExportError(Exception):
    """The spec holds something the exporter cannot write; the message names the layer and
    `loc` is where the spec declares it (None: the whole spec)."""

    def __init__(self, message: str, loc: Loc | None = None):
        super().__init__(message)
        self.loc = loc


@dataclass(frozen=True)
class Param:
    """A block-class constructor parameter standing where instances differ."""

    name: str


@dataclass(frozen=True)
class Call:
    func: str  # "nn.Conv2d", a helper ("Add") or a block class ("Basic")
    args: tuple[tuple[str, object], ...] = ()  # (keyword, value), in the order written
    positional: int = 0  # how many leading arguments are written without their keyword
    helpers: tuple[str, ...] = ()  # helper definitions (helpers.py) the call needs

    def text(self) -> str:
        parts = [literal(value) if i < self.positional else f"{key}={literal(value)}"
                 for i, (key, value) in enumerate(self.args)]
        return f"{self.func}({', '.join(parts)})"


def literal(value: object) -> str:
    """A value as Python source."""
    if isinstance(value, Param):
        return value.name
    if isinstance(value, Call):
        return value.text()
    if isinstance(value, float):
        if math.isinf(value):
            return 'float("inf")' if value > 0 else 'float("-inf")'
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)  # double quotes, as black writes them (a valid Python literal)
    return repr(value)


def per_axis(values: tuple[int, ...] | list[int]) -> int | tuple[int, ...]:
    """`3` when every axis has the same value, `(3, 1)` otherwise (as torch.nn takes them)."""
    values = tuple(values)
    return values[0] if len(set(values)) == 1 else values


# Attributes every nn.Module has (torch 2.x): a submodule may not take one of these names.
_ATTRIBUTE_WORDS = """
T_destination _apply _backward_hooks _backward_pre_hooks _buffers _call_impl _compiled_call_impl
_forward_hooks _forward_hooks_always_called _forward_hooks_with_kwargs _forward_pre_hooks
_forward_pre_hooks_with_kwargs _get_backward_hooks _get_backward_pre_hooks _get_name
_is_full_backward_hook _load_from_state_dict _load_state_dict_post_hooks
_load_state_dict_pre_hooks _maybe_warn_non_full_backward_hook _modules _named_members
_non_persistent_buffers_set _parameters _register_load_state_dict_pre_hook
_register_state_dict_hook _replicate_for_data_parallel _save_to_state_dict _slow_forward
_state_dict_hooks _state_dict_pre_hooks _version _wrapped_call_impl add_module apply bfloat16
buffers call_super_init children compile cpu cuda double dump_patches eval extra_repr float
forward get_buffer get_extra_state get_parameter get_submodule half ipu load_state_dict modules
mtia named_buffers named_children named_modules named_parameters parameters
register_backward_hook register_buffer register_forward_hook register_forward_pre_hook
register_full_backward_hook register_full_backward_pre_hook register_load_state_dict_post_hook
register_load_state_dict_pre_hook register_module register_parameter register_state_dict_post_hook
register_state_dict_pre_hook requires_grad_ set_extra_state set_submodule share_memory state_dict
to to_empty train training type xpu zero_grad load_npz output_names input_shape
"""
MODULE_ATTRIBUTES = frozenset(_ATTRIBUTE_WORDS.split())


def is_attribute(name: str) -> bool:
    """`self.<name>` can be written (else the code uses add_module / getattr)."""
    return name.isidentifier() and not keyword.iskeyword(name)


def identifier(text: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """A Python variable name made from a layer name (`layer1.0.conv-a` -> `layer1_0_conv_a`)
    that is no keyword and not in `taken` (a number is appended until it is free)."""
    name = re.sub(r"\W", "_", text) or "x"
    if not name[0].isalpha() and name[0] != "_":
        name = "x" + name
    if keyword.iskeyword(name) or name in ("self", "torch", "nn", "F"):
        name += "_"
    base, n = name, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name


def class_name(text: str, taken: set[str]) -> str:
    """`double_conv` -> `DoubleConv`, made unique among `taken`."""
    words = [w for w in re.split(r"[^A-Za-z0-9]+", text) if w]
    name = "".join(w[0].upper() + w[1:] for w in words) or "Block"
    if not name[0].isalpha():
        name = "Block" + name
    base, n = name, 2
    while name in taken:
        name, n = f"{base}{n}", n + 1
    return name
