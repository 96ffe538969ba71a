"""What every op module declares: its arguments (typed, with defaults and docs) and its rules.

An op is a stateless object. The graph builder validates a layer's arguments generically
from `Op.arguments`, then calls `Op.infer` with the input shapes; every later analysis
(parameters, cost, memory, receptive field, NumPy forward) asks the op about one `Layer`.
Adding an op is one class in one module; no analysis changes.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from math import prod
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from cnncalc.ops.rfmap import same_position
from cnncalc.text import fmt_int, fmt_shape

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy import ndarray

    from cnncalc.backend import kernels as kernels  # at run time: __getattr__ below
    from cnncalc.graph import Layer
    from cnncalc.ops.args import Arg
    from cnncalc.ops.rfmap import Read

Shape = tuple[int, ...]


class OpError(Exception):
    """A layer cannot be built; `arg` names the argument to point at (else the layer)."""

    def __init__(self, message: str, arg: str | None = None, code: str = "shape"):
        super().__init__(message)
        self.arg = arg
        self.code = code


class OutputStorage(str, Enum):
    """How an op's output is stored (see `Op.storage`). A str enum: it equals its word
    ("view" == OutputStorage.VIEW), so readers that compare words keep working."""

    NEW = "new"  # a buffer of its own
    VIEW = "view"  # shares the input's buffer, no copy (flatten, slice)
    INPLACE = "inplace"  # may overwrite a same-shape input whose last reader it is (ReLU, add)

    def __str__(self) -> str:
        return self.value


class SavedKind(str, Enum):
    """What a `Saved` tensor is: one of the layer's inputs, its output, or a tensor of its own."""

    INPUT = "input"
    OUTPUT = "output"
    EXTRA = "extra"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Saved:
    """One tensor an op keeps from its forward pass for its backward pass (PyTorch autograd).

    `kind` is "input" (the layer's input number `index`), "output", or "extra": a tensor of its
    own (max-pool indices, dropout mask, normalisation statistics) of `elements` values of
    `dtype` (None: the activation dtype), per sample unless `per_sample` is false. Inputs and
    outputs are graph tensors: the memory analysis counts a tensor saved by two layers once.
    """

    kind: SavedKind
    elements: int
    what: str = ""
    dtype: str | None = None
    per_sample: bool = True
    index: int = 0


@dataclass(frozen=True)
class Tensor:
    """A weight tensor a layer owns: trainable parameter or buffer (e.g. running statistics)."""

    name: str
    shape: Shape
    trainable: bool = True

    @property
    def size(self) -> int:
        return prod(self.shape)


A = TypeVar("A")  # an op's resolved attributes: what its `infer` returns besides the shape


class Op(Generic[A]):
    """Base class for ops: `class Conv(Op[ConvAttrs])`, `Op[None]` for an op without attributes.

    Required: `name`, `summary`, `arguments` and `infer`; for `verify`, `forward`. Every other
    member has a default that fits an op which keeps its input's shape and positions, has no
    weights and does no arithmetic; override the ones that do not fit. The members come in
    sections: declaration and shapes, parameters, compute, memory, receptive field, NumPy
    forward (docs/adding-an-op.md says what each needs and which tests cover it).
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    # More for the format reference (docs/format.md): rules a user must know beyond the table.
    notes: ClassVar[str] = ""
    arguments: ClassVar[tuple[Arg, ...]] = ()
    # Other frameworks' names for the op (ops/aliases.py matches them ignoring case, _ and 2d).
    aliases: ClassVar[tuple[str, ...]] = ()
    min_inputs: ClassVar[int] = 1
    max_inputs: ClassVar[int | None] = 1  # None: any number

    # -- shapes: `infer` required; `shape_formula` optional (explain) -----------------------
    def infer(self, args: dict[str, Any], inputs: Sequence[Shape]) -> tuple[Shape, A]:
        """Return the output shape and op-specific resolved attributes (e.g. per-axis windows)."""
        raise NotImplementedError

    def attrs(self, layer: Layer) -> A:
        """The attributes `infer` resolved for `layer` (stored untyped on the Layer), typed
        for this op, so the rules below read them without annotating them again."""
        return cast(A, layer.attrs)

    def shape_formula(self, layer: Layer) -> list[str]:
        """Lines explaining the output shape with the numbers plugged in."""
        return [f"output = input = {fmt_shape(layer.out_shape)}"]

    # -- parameters: optional (default: no weights) ------------------------------------------
    def tensors(self, layer: Layer) -> list[Tensor]:
        return []

    def param_formula(self, layer: Layer) -> str:
        """The parameter count written out, e.g. '(3*3*3)*64 + 64 = 1,792'."""
        return "0"

    # -- compute (analysis/cost.py): optional (default: no arithmetic) -------------------------
    # What the op's FLOPs rule is, in words, for the "what cnncalc counts" table.
    flops_rule: ClassVar[str] = "0 (moves or copies values, no arithmetic)"
    macs_rule: ClassVar[str] = ""  # the MAC rule in words; '' for ops without MACs

    def macs(self, layer: Layer) -> int:
        """Multiply-accumulates per sample. Only conv, deconv and dense have any (bias excluded)."""
        return 0

    def macs_formula(self, layer: Layer) -> str:
        """The MAC count written out, e.g. '(64*112*112)*(3*7*7) = 118,013,952'; '' if none."""
        return ""

    def flops(self, layer: Layer) -> tuple[int, str]:
        """FLOPs per sample besides 2 x MACs (bias, normalisation, activations, pooling, merges),
        and how they were counted with the numbers plugged in. Default: none."""
        return 0, "no arithmetic"

    # -- backward compute (analysis/backcost.py, `flops --training`): optional (default: none) --
    # The backward's rules in words, for the "what cnncalc counts" table. A backward step makes
    # the gradient of each input (grad input) and of each weight (grad weights); the analysis
    # drops the grad-input part where no input needs a gradient (the network input, and
    # everything computed from it before the first weight, as PyTorch's autograd).
    backward_macs_rule: ClassVar[str] = ""  # '' for ops whose backward has no MACs
    backward_flops_rule: ClassVar[str] = "0 (hands the gradient on or routes it: no arithmetic)"

    def backward_macs(self, layer: Layer) -> int:
        """Multiply-accumulates per sample of this layer's backward step: the input gradient
        plus the weight gradient (bias excluded). Only conv, deconv and dense have any."""
        return 0

    def weight_grad_macs(self, layer: Layer) -> int:
        """The part of `backward_macs` that makes the weight gradient (the rest is grad input)."""
        return 0

    def backward_macs_formula(self, layer: Layer) -> str:
        """`backward_macs` written out with the numbers plugged in; '' if none."""
        return ""

    def backward_flops(self, layer: Layer) -> tuple[int, str]:
        """FLOPs per sample of the backward step besides 2 x `backward_macs` (bias gradient,
        activation derivatives, pooling scatters), and how they were counted. Default: none."""
        return 0, "no arithmetic"

    def weight_grad_flops(self, layer: Layer) -> int:
        """The part of `backward_flops` that makes the weight gradient (a bias's or a
        normalisation's scale and shift); the rest is grad input. Default: none."""
        return 0

    # -- memory (analysis/memory.py): optional (default: a new buffer, nothing saved) ----------
    # How the output is stored: "new" (a buffer of its own), "view" (shares the input's buffer,
    # no copy: flatten, slice), or "inplace" (may overwrite an input of the same shape when it
    # is that input's last reader, as PyTorch's ReLU(inplace=True) or `out += identity`).
    storage: ClassVar[OutputStorage] = OutputStorage.NEW
    # What backward keeps, in words, for the "what cnncalc counts" table.
    saves_rule: ClassVar[str] = "nothing"

    # A view op that can only view a contiguous input (a reshape such as flatten): given a
    # strided view (a spatial slice) it must copy, in PyTorch as in NumPy.
    view_needs_contiguous: ClassVar[bool] = False

    def output_storage(self, layer: Layer, training: bool) -> OutputStorage:
        """`storage` for this layer in inference or training (dropout is a view only at inference)."""
        return self.storage

    def view_is_contiguous(self, layer: Layer, batch: int) -> bool:
        """For a "view" op: whether its view of a contiguous input keeps each sample's values in
        one run, so a reshape that keeps the batch axis (flatten) can view it too."""
        return True

    def saved_for_backward(self, layer: Layer) -> list[Saved]:
        """Tensors PyTorch's autograd keeps for this op's backward (weights excluded). Default none."""
        return []

    def gradient_views(self, layer: Layer) -> tuple[int, ...]:
        """Inputs whose gradient backward hands on without a copy, as the output's gradient or
        a view of it (add passes it on, concat slices it). Default: a same-size view op's input."""
        same = prod(layer.in_shapes[0]) == prod(layer.out_shape)
        return (0,) if self.output_storage(layer, True) is OutputStorage.VIEW and same else ()

    # -- receptive field (analysis/rf.py; maps in ops/rfmap.py): required if positions move ---
    def rf(self, layer: Layer) -> list[Read]:
        """Which input positions each output position reads: one `(input index, maps)` per read,
        `maps` holding one AxisMap per output spatial axis, or GLOBAL (every position).
        Default: same position (each input at the unit's own position, size-1 axes broadcast);
        an op that changes a spatial size must override this."""
        return same_position(layer.in_shapes, layer.out_shape)

    # -- NumPy forward (backend/run.py; kernels: `base.kernels`): `forward` required ----------
    def forward(self, layer: Layer, inputs: list[ndarray], weights: Mapping[str, ndarray],
                overwrite: int | None = None) -> ndarray:
        """The output for a batch: `inputs` are (N, *shape) arrays in the layer's input order,
        `weights` maps the names of `tensors(layer)` to arrays. `overwrite` is the index of an
        input nobody needs afterwards (this layer is the last reader of its buffer): an op whose
        storage is "inplace" writes its result there, as the memory analysis assumes; other
        ops ignore it. Reach the kernels as `base.kernels.NAME`, and import NumPy (`np`) inside the method:
        `cnncalc summary` must never load it."""
        raise NotImplementedError(f"op '{self.name}' has no NumPy forward")

    def workspace(self, layer: Layer) -> int:
        """Values per sample the NumPy forward allocates besides its inputs and output (im2col
        columns, padded copies, temporaries), to size a verify run before it starts.
        Default: two output-sized temporaries."""
        return 2 * prod(layer.out_shape)

    def reach(self, layer: Layer, inputs: list[ndarray]) -> ndarray:
        """Dependency probe for the measured receptive field (backend/rf_probe.py), independent
        of `rf`: each input is a 0/1 mask (N, 1, *spatial) of marked input positions, channels
        collapsed (a tensor's receptive field is the union over its channels). Returns a
        non-negative (N, 1, *output spatial) array, positive exactly where an output position
        depends on a marked one. Default: same position, as `rf`'s default."""
        mask: ndarray = _load_kernels().masks.same_position(layer, inputs)
        return mask

    # -- NumPy backward (backend/backward.py): `backward` required for every op ---------------
    # A nonlinear activation (ReLU, sigmoid, softmax, ...): a `linear` backward run (the
    # analytic effective receptive field) treats it as the identity, forward and backward.
    activation: ClassVar[bool] = False

    def backward(self, layer: Layer, inputs: list[ndarray | None], output: ndarray | None,
                 weights: Mapping[str, ndarray], grad_output: ndarray,
                 need: Sequence[bool] | None = None) -> tuple[list[ndarray | None], dict[str, ndarray]]:
        """Gradients for a batch: given `grad_output` (dLoss/dOutput, (N, *out_shape), in the
        run's dtype) return dLoss/dInput for each input (None where `need[i]` is false; `need`
        None means every input) and dLoss/dWeight for each trainable tensor of
        `tensors(layer)` by name. The forward tensors an op may read are exactly the ones its
        `saved_for_backward` declares: the others arrive as None (the backward run keeps no
        more, and `verify --training` measures it), so an op that needs an input only for its
        shape reads `layer.in_shapes` and the batch from `grad_output`. Returned gradients
        may be `grad_output` itself or a view of it (declare those inputs in
        `gradient_views`); they are never written to afterwards. Weight gradients are
        summed over the batch. Import NumPy inside the method, as for `forward`."""
        raise NotImplementedError(f"op '{self.name}' has no NumPy backward")

    def initial_weights(self, layer: Layer, rng: Any) -> dict[str, ndarray]:
        """Random float32 values for `tensors(layer)` from the NumPy Generator `rng`. Default:
        He (Kaiming) uniform, variance 2 / fan_in with fan_in = the product of every axis but
        the first (a conv's Cin/groups x kernel, a dense layer's inputs), which keeps ReLU
        networks' activations at the same scale layer after layer; 1-D tensors (biases)
        uniform in +-0.1, small but not zero so the bias path is exercised."""
        kernels = _load_kernels()
        return {t.name: kernels.he_uniform(rng, t.shape) if len(t.shape) > 1
                else kernels.small_uniform(rng, t.shape)
                for t in self.tensors(layer)}

    def calibrate(self, layer: Layer, inputs: list[ndarray], output: ndarray,
                  weights: Mapping[str, ndarray]) -> dict[str, ndarray]:
        """Weights to replace after seeing this layer's real inputs and output once while
        random weights are made (backend/weights.py runs the layer again with them), so that
        activations stay finite through any depth. Default: none."""
        return {}


def _load_kernels() -> Any:
    """The NumPy side of the ops (backend/kernels: compute kernels, `reach` masks, weight
    initialisation), imported on first use. The one way an op reaches NumPy: analysing a spec
    (`cnncalc summary`) never loads it, and the kernels package imports no op, so there is no
    cycle. Ops write `base.kernels.conv(...)`: at run time `__getattr__` below answers it once,
    type checkers see the TYPE_CHECKING import instead."""
    from cnncalc.backend import kernels  # lazy on purpose: NumPy is not needed to analyse

    globals()["kernels"] = kernels
    return kernels


if not TYPE_CHECKING:
    def __getattr__(name: str) -> Any:
        if name == "kernels":
            return _load_kernels()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def per_value(per: int, values: int, what: str) -> tuple[int, str]:
    """FLOPs of `per` operations on each of `values` values, with the count written out."""
    if per == 0:
        return 0, what
    return per * values, f"{what}: {per} x {fmt_int(values)} = {fmt_int(per * values)}"


def batch_shape(layer: Layer, grad_output: ndarray, index: int = 0) -> Shape:
    """Input `index`'s shape with the batch of `grad_output`: for a backward that needs only
    the shape of an input it does not keep."""
    return (grad_output.shape[0], *layer.in_shapes[index])


Grads = tuple[list["ndarray | None"], dict[str, "ndarray"]]  # what `Op.backward` returns


def saved_input(layer: Layer, index: int = 0, what: str = "input") -> Saved:
    return Saved(SavedKind.INPUT, prod(layer.in_shapes[index]), what, index=index)


def saved_output(layer: Layer, what: str = "output") -> Saved:
    return Saved(SavedKind.OUTPUT, prod(layer.out_shape), what)


def per_axis(value: int | tuple[int, ...], rank: int, arg: str) -> tuple[int, ...]:
    """Expand an int to one value per spatial axis, or check a list has one per axis."""
    if isinstance(value, tuple):
        if len(value) != rank:
            raise OpError(f"'{arg}' has {len(value)} values but the input has {rank} spatial axes", arg)
        return value
    return (value,) * rank


def spatial_rank(shape: Shape, op: str, minimum: int = 1) -> int:
    rank = len(shape) - 1
    if rank < minimum:
        raise OpError(f"{op} needs an input with a channel axis and {minimum}+ spatial axes, "
                      f"got {fmt_shape(shape)}" + (" (it is already flat)" if rank == 0 else ""))
    return rank
