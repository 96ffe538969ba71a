"""`explain`: one layer's numbers with the formulas written out, as plain lines.

Every figure comes from the analyses (cost, memory, receptive field); this module only puts
them into words, so `explain` can never disagree with `summary`, `flops` or `memory`.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from cnncalc.analysis.cost import analyze_cost
from cnncalc.analysis.memory import analyze_memory
from cnncalc.analysis.rf import analyze_rf
from cnncalc.report import text
from cnncalc.report.rfexplain import rf_lines

if TYPE_CHECKING:
    from cnncalc.analysis.cost import CostResult
    from cnncalc.analysis.memory import MemoryResult
    from cnncalc.analysis.rf import RFResult
    from cnncalc.graph import Graph


def explanation(graph: Graph, name: str, cost_result: CostResult | None = None,
                mem: MemoryResult | None = None, rf: RFResult | None = None) -> list[str]:
    """The explanation of layer `name` (KeyError with a "did you mean" when unknown); the
    analyses can be passed in when explaining many layers (the HTML report)."""
    layer = graph.layer(name)
    layout = graph.spec.layout
    cost = (cost_result or analyze_cost(graph)).layers[layer.index]
    mem = mem or analyze_memory(graph)
    sources = ", ".join(f"{src} {text.shape(graph.shape_of(src), layout)}" for src in layer.inputs)
    lines = [f"{layer.name}: {layer.op_name} ({layer.op.summary})",
             f"  defined at {layer.loc}",
             f"  input:  {sources}",
             f"  output: {text.shape(layer.out_shape, layout)} = {text.count(layer.out_size)} values"
             + ("  (channels last)" if layout == "channels_last" else ""),
             "  output shape:"]
    lines += [f"    {line}" for line in layer.op.shape_formula(layer)]
    lines.append(f"  parameters: {layer.op.param_formula(layer)}")
    for tensor in layer.tensors:
        kind = "trainable" if tensor.trainable else "buffer"
        lines.append(f"    {tensor.name}: {text.shape(tensor.shape)} = {text.count(tensor.size)} ({kind})")
    lines.append("  compute (one sample):")
    if cost.macs:
        lines.append(f"    MACs = {cost.macs_formula}")
    parts = ([f"2 x {text.count(cost.macs)} MACs"] if cost.macs else []) + (
        [cost.how] if cost.other_flops or not cost.macs else [])
    lines.append(f"    FLOPs = {text.count(cost.flops)} ({'; '.join(parts)})")
    activation = mem.layers[layer.index].activation_bytes
    lines.append(f"  activation: {text.count(layer.out_size)} values x {mem.dtype_bytes} bytes "
                 f"({mem.dtype}) = {text.binary_bytes(activation)}")
    lines += rf_lines(graph, rf or analyze_rf(graph), layer)
    return lines
