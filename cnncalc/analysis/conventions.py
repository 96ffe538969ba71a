"""Peer tools' conventions, reproduced from the graph, so a user can see why the tools disagree.

Each peer counts by its own rules, keyed on the PyTorch module or aten operator a layer turns
into; the tables here describe the peer, not cnncalc (an op a peer does not know counts 0, as
it does in the peer). Reproduced from the peers' sources, torchinfo 1.8 and fvcore 0.1.5, and
checked against them on the zoo (tests/test_cost_conventions.py); `NOTES` says what differs.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING

from cnncalc.analysis.memory import analyze_memory
from cnncalc.spec.dtypes import DTYPE_BYTES

if TYPE_CHECKING:
    from cnncalc.graph import Graph, Layer

CONVENTIONS = ("torchinfo", "fvcore")
NOTES = {
    "torchinfo": [
        "torchinfo 1.8 `summary(model, input_size)`:",
        "- Mult-Adds: over layers with parameters only, parameters x output positions for modules",
        "  whose class name contains 'Conv', parameters x batch for all others (Linear, BatchNorm);",
        "  so bias counts, batch norm counts its 2C parameters per sample (not its work),",
        "  transposed convolutions are charged per output position, parameter-free layers count 0.",
        "- Estimated Total Size = input + 2 x the outputs of layers with parameters",
        "  ('forward/backward pass size') + parameters: no liveness, no ReLU/pooling outputs, no",
        "  gradients of the parameters, no optimizer state, no buffers.",
    ],
    "fvcore": [
        "fvcore 0.1.5 `FlopCountAnalysis`: its 'flops' are MACs for conv, transposed conv and",
        "linear (bias excluded, as cnncalc), plus batch norm 2 per value in eval mode (5 in",
        "training mode), layer/group norm 5 per value, 2-D adaptive average pooling 1 per input",
        "value, 2-D upsampling 1 (nearest) or 4 (bilinear) per output value; everything else",
        "(ReLU, add, max pooling, softmax, 1-D/3-D pooling and upsampling) counts 0.",
        "`ActivationCountAnalysis` counts the output values of conv and linear layers.",
    ],
}
_CONV_MODULES = ("conv", "deconv")  # torch.nn.Conv*d / ConvTranspose*d: "Conv" in the class name


@dataclass(frozen=True)
class PeerLayer:
    name: str
    op_name: str  # the op's name (Layer.op is the Op object)
    ours: int  # cnncalc's MACs for the layer
    theirs: int  # the peer's figure for the layer
    note: str  # why they differ ('' when they agree)


@dataclass(frozen=True)
class PeerCount:
    """A peer's compute figure per layer next to cnncalc's MACs."""

    convention: str
    label: str  # the peer's name for its figure
    batch: int
    layers: list[PeerLayer]

    @property
    def total_ours(self) -> int:
        return sum(layer.ours for layer in self.layers)

    @property
    def total_theirs(self) -> int:
        return sum(layer.theirs for layer in self.layers)


@dataclass(frozen=True)
class PeerMemoryLine:
    label: str  # the peer's line, e.g. "Estimated Total Size"
    theirs: int  # bytes (or values, for fvcore's activation count)
    ours: int  # cnncalc's nearest figure
    ours_label: str
    note: str


@dataclass(frozen=True)
class PeerMemory:
    convention: str
    batch: int
    dtype: str
    lines: list[PeerMemoryLine]


def peer_count(graph: Graph, convention: str, batch: int = 1, training: bool = False) -> PeerCount:
    """The peer's compute figure per layer; `training` is the model's mode (fvcore's batch norm)."""
    if convention == "torchinfo":
        rows = [_torchinfo_layer(layer) for layer in graph.layers]
        label = "Mult-Adds"
    elif convention == "fvcore":
        rows = [_fvcore_layer(layer, training) for layer in graph.layers]
        label = "flops"
    else:
        raise ValueError(f"unknown convention {convention!r} (one of {', '.join(CONVENTIONS)})")
    layers = [PeerLayer(layer.name, layer.op_name, batch * layer.op.macs(layer), batch * theirs, note)
              for layer, (theirs, note) in zip(graph.layers, rows)]
    return PeerCount(convention, label, batch, layers)


def _torchinfo_layer(layer: Layer) -> tuple[int, str]:
    if not layer.params:
        return 0, ""
    macs = layer.op.macs(layer)
    if layer.op_name in _CONV_MODULES:
        positions = prod(layer.out_shape[1:])
        theirs = layer.params * positions
        notes = []
        if layer.op_name == "deconv":
            notes.append("weights x output positions, not input positions")
        if layer.args.get("bias"):
            notes.append(f"+ bias x {positions:,} positions")
        return theirs, "; ".join(notes)
    note = "counts its parameters" + (" (incl. bias)" if macs else ", not its work")
    return layer.params, note if layer.params != macs else ""


def _fvcore_layer(layer: Layer, training: bool) -> tuple[int, str]:
    op, values, outputs = layer.op_name, prod(layer.in_shapes[0]), layer.out_size
    two_d = len(layer.out_shape) == 3
    if op in ("conv", "deconv", "dense"):
        return layer.op.macs(layer), ""
    if op == "bn":
        per = 5 if training else 2
        return per * values, f"{per} per value ({'training' if training else 'eval'} mode)"
    if op in ("layernorm", "groupnorm"):
        return 5 * values, "5 per value"
    if op in ("gap", "adaptive_avgpool"):
        return (values, "1 per input value") if two_d else (0, "1-D/3-D pooling unsupported")
    if op == "upsample":
        if not two_d:
            return 0, "1-D/3-D upsampling unsupported"
        per = 1 if layer.args["mode"] == "nearest" else 4
        return per * outputs, f"{per} per output value"
    return 0, ""


def peer_memory(graph: Graph, convention: str, batch: int = 1, dtype: str | None = None,
                optimizer: str = "adam") -> PeerMemory:
    """The peer's memory lines next to cnncalc's corresponding figures."""
    dtype = dtype or graph.spec.dtype
    width = DTYPE_BYTES[dtype]
    ours = analyze_memory(graph, batch, dtype, training=True, optimizer=optimizer)
    assert ours.training is not None
    if convention == "torchinfo":
        passes = 2 * sum(layer.out_size for layer in graph.layers if layer.params) * batch * width
        params = (graph.total_params) * width
        lines = [
            PeerMemoryLine("Input size", ours.input_bytes, ours.input_bytes, "input",
                           "torchinfo adds the storage object's Python overhead (~64 bytes)"),
            PeerMemoryLine("Forward/backward pass size", passes, ours.training.activation_peak_bytes,
                           "training activation peak",
                           "2 x the outputs of layers with parameters; no liveness, no ReLU/pool "
                           "outputs, no saved indices or masks, no in-place"),
            PeerMemoryLine("Params size", params, ours.params_bytes, "parameters",
                           "excludes buffers (batch-norm running statistics)"),
            PeerMemoryLine("Estimated Total Size", ours.input_bytes + passes + params,
                           ours.training.total_bytes, f"training step ({optimizer})",
                           "no gradients of the parameters, no optimizer state, no buffers"),
        ]
    elif convention == "fvcore":
        values = sum(layer.out_size for layer in graph.layers if layer.op_name in
                     ("conv", "deconv", "dense")) * batch
        lines = [PeerMemoryLine("activations (ActivationCountAnalysis)", values,
                                ours.inference_peak_bytes, "inference peak",
                                "a count of values, not bytes: conv and linear outputs only, "
                                "all of them at once (no liveness)")]
    else:
        raise ValueError(f"unknown convention {convention!r} (one of {', '.join(CONVENTIONS)})")
    return PeerMemory(convention, batch, dtype, lines)


def explain_convention(convention: str) -> list[str]:
    """What the peer counts, in words (shown under the comparison tables)."""
    return NOTES[convention]
