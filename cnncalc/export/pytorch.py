"""`cnncalc export --to pytorch`: a spec as a standalone PyTorch module.

The file needs only torch: `class Model(nn.Module)` with a no-argument constructor, one
class per block, `load_npz(path)` for the weights cnncalc writes (`init-weights`, verify's),
and a `__main__` that runs a random input and prints the output shape(s).
"""
from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING

from cnncalc.export.calls import Call, ExportError, literal
from cnncalc.export.classes import ClassDef, Classes, init_line
from cnncalc.export.helpers import helper_source, with_dependencies
from cnncalc.export.tree import build_tree, name_inputs
from cnncalc.text import fmt_shape

if TYPE_CHECKING:
    from cnncalc.graph import Graph

LINE = 100  # a constructor call longer than this is written one argument per line

_LOADER = '''
NPY_DTYPES = {
    "f2": torch.float16, "f4": torch.float32, "f8": torch.float64, "i1": torch.int8,
    "i2": torch.int16, "i4": torch.int32, "i8": torch.int64, "u1": torch.uint8, "b1": torch.bool,
}


def read_npz(path):
    """The arrays of an .npz archive as tensors, keyed by member name (NumPy's format, read
    with the standard library: no NumPy needed)."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith(".npy"):
                raise ValueError(f"{path}: member {member!r} is not a .npy array")
            data = archive.read(member)
            if data[:6] != b"\\x93NUMPY":
                raise ValueError(f"{path}: member {member!r} is not a .npy array")
            width = 2 if data[6] == 1 else 4
            start = 8 + width + int.from_bytes(data[8:8 + width], "little")
            header = ast.literal_eval(data[8 + width:start].decode("latin1"))
            descr, shape = header["descr"], tuple(header["shape"])
            dtype = NPY_DTYPES.get(descr[1:])
            if dtype is None or descr[0] == ">":
                raise ValueError(f"{path}: member {member!r} holds {descr} values; "
                                 "save little-endian numbers")
            count = math.prod(shape)
            flat = (torch.frombuffer(bytearray(data[start:]), dtype=dtype, count=count)
                    if count else torch.empty(0, dtype=dtype))
            if header["fortran_order"]:
                tensor = flat.reshape(shape[::-1]).permute(*reversed(range(len(shape))))
            else:
                tensor = flat.reshape(shape)
            arrays[member[: -len(".npy")]] = tensor
    return arrays
'''

_LOAD_METHOD = '''
    def load_npz(self, path):
        """Load weights from an .npz archive keyed like state_dict (`cnncalc init-weights`,
        `cnncalc verify --weights`). Strict: a missing, unexpected or mis-shaped array is an
        error naming it, and nothing is loaded."""
        arrays = read_npz(path)
        state = {key: value for key, value in self.state_dict().items()
                 if not key.endswith("num_batches_tracked")}  # PyTorch's counter, not a weight
        problems = [f"missing {key!r} of shape {tuple(value.shape)}"
                    for key, value in state.items() if key not in arrays]
        problems += [f"unexpected {key!r} (the model has no such tensor)"
                     for key in arrays if key not in state]
        problems += [f"{key!r} has shape {tuple(arrays[key].shape)}, the model needs "
                     f"{tuple(value.shape)}" for key, value in state.items()
                     if key in arrays and arrays[key].shape != value.shape]
        if problems:
            raise ValueError(f"{path}: " + "; ".join(problems))
        with torch.no_grad():
            for key, value in state.items():
                value.copy_(arrays[key])
'''


def render(call: Call, indent: int) -> str:
    """A constructor call; containers and long calls one argument per line."""
    text = call.text()
    container = call.func in ("nn.Sequential", "nn.ModuleList")
    items = call.args[0][1] if call.func == "nn.ModuleList" else [v for _, v in call.args]
    if container and isinstance(items, list) and len(items) > 1:
        pad = " " * (indent + 4)
        inner = "".join(f"{pad}{render(v, indent + 4) if isinstance(v, Call) else literal(v)},\n"
                        for v in items)
        if call.func == "nn.ModuleList":
            return f"nn.ModuleList([\n{inner}{' ' * indent}])"
        return f"nn.Sequential(\n{inner}{' ' * indent})"
    if indent + len(text) <= LINE or not call.args:
        return text
    pad = " " * (indent + 4)
    parts = [literal(v) if i < call.positional else f"{k}={literal(v)}"
             for i, (k, v) in enumerate(call.args)]
    return f"{call.func}(\n" + "".join(f"{pad}{p},\n" for p in parts) + f"{' ' * indent})"


def _class_text(c: ClassDef, doc: str) -> str:
    lines = [f"class {c.name}(nn.Module):", *_docstring(doc, 4), "",
             f"    def __init__({', '.join(['self', *c.params])}):", "        super().__init__()"]
    for local, call in c.members:
        head, tail = init_line(local)
        lines.append(f"        {head}{render(call, 8)}{tail}")
    lines += ["", f"    def forward({', '.join(['self', *c.arguments])}):"]
    lines += ["        " + line for line in c.body]
    return "\n".join(lines)


def _docstring(text: str, indent: int) -> list[str]:
    """A docstring wrapped at LINE characters."""
    pad = " " * indent
    lines = textwrap.wrap(f'"""{text}"""', LINE - indent - 4)
    return [pad + line for line in lines]


def _block_doc(c: ClassDef) -> str:
    where = ", ".join(f"`{node.name}`" for node in c.instances[:4])
    more = f" and {len(c.instances) - 4} more" if len(c.instances) > 4 else ""
    return f"The spec's block `{c.kind}` ({where}{more})."


def export_pytorch(graph: Graph, source: str = "") -> str:
    """The PyTorch module for `graph`, as Python source (ExportError naming the layer if some
    part cannot be written)."""
    root = build_tree(graph)
    name_inputs(root, graph)
    classes = Classes(graph, root)
    channels_last = graph.spec.layout == "channels_last"
    prefix = ["x = x.movedim(-1, 1)  # channels last, as the spec takes it -> channels first"] \
        if channels_last and len(graph.input_shape) > 1 else []
    returns_to = {name: "{}.movedim(1, -1)" for name in graph.outputs
                  if channels_last and len(graph.shape_of(name)) > 1}
    model = classes.model(root, prefix, returns_to)
    helpers: list[str] = []
    for c in [*classes.defs, model]:
        for _, call in c.members:
            _collect_helpers(call, helpers)

    layout = "channels last" if channels_last else "channels first"
    input_shape = (*graph.input_shape[1:], graph.input_shape[0]) if channels_last else graph.input_shape
    outputs = list(graph.outputs)
    out_shapes = [graph.shape_of(name) for name in outputs]
    if channels_last:
        out_shapes = [(*s[1:], s[0]) if len(s) > 1 else s for s in out_shapes]
    returns = (f"the output [N, {fmt_shape(out_shapes[0])[1:]}" if len(outputs) == 1 else
               "a tuple of the outputs in `output_names` order: " + ", ".join(
                   f"{n} [N, {fmt_shape(s)[1:]}" for n, s in zip(outputs, out_shapes)))
    paragraphs = [f"{graph.name}: a PyTorch module written by `cnncalc export --to pytorch`"
                  + (f" from {source}." if source else ".")]
    if graph.spec.description:
        paragraphs.append(graph.spec.description.strip())
    paragraphs += [
        f"Model().forward takes a float tensor [N, {fmt_shape(input_shape)[1:]} ({layout}, as the "
        f"spec) and returns {returns}{' (channels last)' if returns_to else ''}. Call .eval() "
        "first: batch norm uses its running statistics and dropout is off only in eval mode.",
        "state_dict keys are cnncalc's layer names; `load_npz` loads the weights cnncalc writes "
        "(`cnncalc init-weights`, `cnncalc verify --weights`). Needs only torch."]
    header = "\n\n".join(textwrap.fill(p, LINE - 4) for p in paragraphs)
    header = f'"""{header}\n"""'
    parts = [header,
             "import ast\nimport math\nimport zipfile\n\nimport torch\nimport torch.nn.functional as F\n"
             "from torch import nn"]
    parts += [helper_source(name) for name in with_dependencies(helpers)]
    parts += [_class_text(c, _block_doc(c)) for c in classes.defs]
    model_text = _class_text(model, f"{graph.name}, as the spec describes it.")
    attrs = [f"    input_shape = {literal(tuple(input_shape))}  # without the batch, {layout}",
             f"    output_names = {literal(tuple(outputs))}"]
    model_lines = model_text.split("\n")
    model_lines[3:3] = [*attrs, ""]
    parts.append("\n".join(model_lines) + "\n" + _LOAD_METHOD.rstrip("\n"))
    parts.append(_LOADER.strip("\n"))
    parts.append(_MAIN.format(show="\n".join(_show_lines(len(outputs)))).strip("\n"))
    if "F.pad" not in "\n".join(parts[2:]) and "F.avg_pool" not in "\n".join(parts[2:]):
        parts[1] = parts[1].replace("import torch.nn.functional as F\n", "")
    return "\n\n\n".join(parts) + "\n"


_MAIN = '''
if __name__ == "__main__":
    model = Model().eval()
    x = torch.randn(1, *Model.input_shape)
    with torch.no_grad():
        y = model(x)
{show}
'''


def _show_lines(outputs: int) -> list[str]:
    if outputs == 1:
        return ['    print(f"{Model.output_names[0]}: {list(y.shape)}")']
    return ["    for name, out in zip(Model.output_names, y):",
            '        print(f"{name}: {list(out.shape)}")']


def _collect_helpers(value: object, found: list[str]) -> None:
    if isinstance(value, Call):
        found.extend(value.helpers)
        for _, arg in value.args:
            _collect_helpers(arg, found)
    elif isinstance(value, list):
        for item in value:
            _collect_helpers(item, found)


__all__ = ["ExportError", "export_pytorch"]
