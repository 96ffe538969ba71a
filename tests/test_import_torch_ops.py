"""The PyTorch importer op by op, on small models built here, and its errors.

Each model is checked against PyTorch alone (tests/torch_import_oracle.py): its parameter
and buffer counts and the shape fx propagates through every node a layer came from.
"""
from __future__ import annotations

import textwrap

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch_import_oracle import check_import  # noqa: E402

from cnncalc.cli import main  # noqa: E402
from cnncalc.imports.model import UnsupportedModel  # noqa: E402
from cnncalc.imports.torch_source import import_module  # noqa: E402


def ops_of(graph) -> list[str]:
    return [layer.op_name for layer in graph.layers]


class Convs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, (3, 5), stride=(1, 2), padding=(1, 2), bias=False)
        self.c2 = nn.Conv2d(8, 8, 3, padding="same", dilation=2, groups=4)
        self.d1 = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1, output_padding=1)
        self.bn = nn.BatchNorm2d(4, eps=1e-3)
        self.gn = nn.GroupNorm(2, 4)
        self.inorm = nn.InstanceNorm2d(4, affine=True)
        self.lrn = nn.LocalResponseNorm(3)
        self.pool = nn.MaxPool2d(3, 2, 1, ceil_mode=True)
        self.avg = nn.AvgPool2d(2, count_include_pad=False)
        self.adapt = nn.AdaptiveAvgPool2d((2, 3))
        self.fc = nn.Linear(24, 10)

    def forward(self, x):
        x = F.relu6(self.c2(self.c1(x)))
        x = self.lrn(self.inorm(self.gn(self.bn(self.d1(x)))))
        x = F.leaky_relu(self.pool(x), 0.2)
        x = self.adapt(self.avg(F.hardswish(x)))
        return F.softmax(self.fc(torch.flatten(x, 1)), dim=1)


def test_convolutions_norms_pools() -> None:
    graph = check_import(Convs(), [3, 20, 24])
    assert ops_of(graph) == ["conv", "conv", "relu6", "deconv", "bn", "groupnorm", "groupnorm",
                             "lrn", "maxpool", "leaky_relu", "hardswish", "avgpool",
                             "adaptive_avgpool", "flatten", "dense", "softmax"]
    c1 = graph.layer("c1")
    assert c1.args["kernel"] == (3, 5) and c1.args["bias"] is False
    assert graph.layer("inorm").args["groups"] == 4          # instance norm: a group per channel
    assert graph.layer("leaky_relu").args["slope"] == 0.2


class Layouts(nn.Module):
    """ConvNeXt's channels-last block, a channel shuffle, slices with steps, padding."""

    def __init__(self) -> None:
        super().__init__()
        self.dw = nn.Conv2d(8, 8, 7, padding=3, groups=8)
        self.norm = nn.LayerNorm(8, eps=1e-6)
        self.up = nn.Linear(8, 32)
        self.act = nn.GELU()
        self.down = nn.Linear(32, 8)
        self.gamma = nn.Parameter(torch.full((8, 1, 1), 0.5))
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.down(self.act(self.up(self.norm(y)))).permute(0, 3, 1, 2)
        x = x + self.drop(self.gamma * y)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w).transpose(1, 2).contiguous().view(n, c, h, w)
        a, b = x.chunk(2, dim=1)
        b = b[:, :, ::2, 1::2]
        b = F.interpolate(b, scale_factor=2, mode="nearest")
        a = F.pad(a, (0, 0, 0, 0, 2, 2))             # zero channels: an option-A shortcut
        b = F.pad(b, (1, 1, 0, 0))
        return torch.cat([a, b[:, :, :, 1:-1]], 1).mean([2, 3])


def test_layout_patterns() -> None:
    graph = check_import(Layouts(), [8, 12, 12])
    assert ops_of(graph) == ["conv", "layernorm", "channel_dense", "gelu", "channel_dense", "scale",
                             "dropout", "add", "channel_shuffle", "slice", "slice", "slice",
                             "slice", "upsample", "channel_pad", "pad", "slice", "concat", "gap",
                             "flatten"]
    assert graph.layer("gamma").args["init"] == 0.5
    steps = [layer.args["step"] for layer in graph.layers if layer.op_name == "slice"]
    assert steps == [1, 1, 2, 2, 1]
    assert graph.layer("pad").args == {"before": 2, "after": 2}   # F.pad on the channels
    assert graph.layer("slice_3").args == {"start": 1, "stop": None, "axis": 2, "step": 2}


class Unsupported(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding_mode="reflect", padding=1)
        self.bn = nn.BatchNorm2d(8, track_running_stats=False)
        self.fc = nn.Linear(8, 8)

    def forward(self, x):
        x = torch.roll(self.conv(x), 1, 2)
        x = self.bn(x) * 2.0
        x = self.fc(x.permute(0, 3, 2, 1))
        return torch.roll(x, 1, 3).sum()


def test_every_unsupported_node_is_listed() -> None:
    with pytest.raises(UnsupportedModel) as caught:
        import_module(Unsupported(), [3, 8, 8], "test:unsupported")
    found = {node.name: node for node in caught.value.nodes}
    # The Linear is listed too: on the reversed axes it would not be a channel_dense either.
    assert set(found) == {"conv", "roll", "bn", "mul", "permute", "fc", "roll_1", "sum_1"}
    assert "reflect" in found["conv"].why and found["roll"].op_type == "torch.roll"
    assert "track_running_stats" in found["bn"].why


def test_unused_modules_are_noted() -> None:
    class WithAux(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 1)
            self.aux = nn.Sequential(nn.Conv2d(4, 4, 3), nn.BatchNorm2d(4))

        def forward(self, x):
            return self.aux(x) if self.training else self.conv(x)

    graph = check_import(WithAux(), [3, 5, 5], unused=("aux.",))
    assert ops_of(graph) == ["conv"]
    from torch_import_oracle import imported_graph

    notes = imported_graph(WithAux(), [3, 5, 5])[2]
    assert notes == ["aux (Sequential): 156 parameters and 8 buffer values the traced forward "
                     "(eval mode) never uses; left out"]


# -- the command's errors ------------------------------------------------------------------------

USER_MODULE = """
import torch
from torch import nn

class Roller(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return torch.roll(self.conv(x), 1, 2) + x.exp()[:, :1, :6, :6]

def roller():
    return Roller()

def boom():
    raise RuntimeError("no weights here")

def not_a_module():
    return 42

answer = 42
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch) -> str:
    (tmp_path / "usermodels.py").write_text(textwrap.dedent(USER_MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    return "usermodels"


@pytest.mark.parametrize("source, args, message", [
    ("usermodels:roller", ["--input", "3,8,8"], "2 node(s)"),
    ("usermodels:boom", ["--input", "3,8,8"], "calling usermodels:boom() failed: RuntimeError: "
                                              "no weights here"),
    ("usermodels:not_a_module", ["--input", "3,8,8"], "returned a int, not a torch.nn.Module"),
    ("usermodels:answer", ["--input", "3,8,8"], "is a int, not something to call"),
    ("usermodels:rollr", ["--input", "3,8,8"], "did you mean 'roller'"),
    ("no_such_module_xyz:f", ["--input", "3,8,8"], "cannot import the module no_such_module_xyz"),
    ("usermodels:roller", [], "needs --input C,H,W"),
    ("usermodels:roller", ["--input", "4,8,8"], "failed: RuntimeError"),
    ("resnet.yaml", ["--input", "3,8,8"], "expected MODULE:CALLABLE"),
])
def test_command_errors(user_module, tmp_path, capsys, source, args, message) -> None:
    out = tmp_path / "out.yaml"
    assert main(["import", source, "-o", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{source}: error: ") and message in err
    assert "Traceback" not in err
    assert not out.exists()


def test_unsupported_nodes_are_all_printed(user_module, tmp_path, capsys) -> None:
    out = tmp_path / "out.yaml"
    assert main(["import", "usermodels:roller", "--input", "3,8,8", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "roll: torch.roll" in err and "exp: Tensor.exp" in err and "nothing written" in err
    assert not out.exists()
