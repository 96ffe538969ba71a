"""cnncalc: exact shapes, parameters, receptive fields, FLOPs and memory of CNNs written as YAML.

    >>> from cnncalc import load_graph
    >>> g = load_graph("architectures/resnet18.yaml")
    >>> g.total_params, g.output_shapes

`load_graph` reads through `read_spec` (regular files up to 32 MiB, `-` for standard input,
UTF-8 decoded): the one function that reads a spec, so an unreadable file reads the same
everywhere.
"""
from cnncalc.graph import Graph, Layer, build_graph, load_graph, load_graph_text
from cnncalc.problems import Loc, Problem, SpecError
from cnncalc.spec.source import read_spec

__version__ = "0.1.0"
__all__ = ["Graph", "Layer", "Loc", "Problem", "SpecError", "build_graph", "load_graph",
           "load_graph_text", "read_spec"]
