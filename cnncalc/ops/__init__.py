"""One module per op family; each op declares its arguments and its rules (see base.Op)."""
from cnncalc.ops.args import Arg
from cnncalc.ops.base import Op, OpError, Shape, Tensor
from cnncalc.ops.registry import ops, register

__all__ = ["Arg", "Op", "OpError", "Shape", "Tensor", "ops", "register"]
