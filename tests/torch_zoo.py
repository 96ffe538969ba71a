"""Plain ``torch.nn`` twins of the zoo specs in ``architectures/``, used as an oracle.

Each builder is written from the published architecture (the layer lists of torchvision's
models, the U-Net and M5 papers), not copied from any library. Module attribute names follow
torchvision (``features``, ``classifier``, ``layer1`` ... ``fc``) so per-layer outputs can be
matched with the YAML names.

torch is imported inside the functions so this module imports (and its helpers can be
referenced) on machines without torch; the tests that call it skip there.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------- counting


def count_params(model: Any) -> int:
    """Trainable parameters (what cnncalc reports as ``params``)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_buffers(model: Any) -> int:
    """Buffers as cnncalc counts them: batch-norm running mean and variance.

    PyTorch also keeps an int64 ``num_batches_tracked`` scalar per batch norm; it is a
    bookkeeping counter, not part of the model's statistics, so it is left out.
    """
    return sum(
        b.numel() for n, b in model.named_buffers() if not n.endswith("num_batches_tracked")
    )


_KIND = {"Conv1d": "conv", "Conv2d": "conv", "Conv3d": "conv",
         "ConvTranspose1d": "deconv", "ConvTranspose2d": "deconv", "ConvTranspose3d": "deconv",
         "Linear": "dense", "BatchNorm1d": "bn", "BatchNorm2d": "bn", "BatchNorm3d": "bn"}


@dataclass
class Trace:
    """What one forward pass of a batch of one shows about a model."""

    output: tuple[int, ...]
    macs: int
    # output shape (no batch) of every named submodule; a module called twice keeps the last
    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # (module name, kind, params, buffers, output shape) of every conv / deconv / linear /
    # batch norm, in execution order; kind uses cnncalc's op names
    weighted: list[tuple[str, str, int, int, tuple[int, ...]]] = field(default_factory=list)


def _macs(m: Any, x: Any, out: Any) -> int:
    """conv: output elements x in/groups x kernel volume; deconv: input elements x
    out/groups x kernel volume; linear: in x out. Per sample, bias excluded."""
    kind = _KIND[type(m).__name__]
    if kind == "dense":
        return out.numel() // out.shape[0] * m.in_features
    if kind == "bn":
        return 0
    kvol = 1
    for k in m.kernel_size:
        kvol *= k
    if kind == "conv":
        return out.numel() // out.shape[0] * (m.in_channels // m.groups) * kvol
    return x.numel() // x.shape[0] * (m.out_channels // m.groups) * kvol  # deconv


def trace(model: Any, input_shape: tuple[int, ...]) -> Trace:
    """Run `model` in eval mode on zeros of shape (1, *input_shape) and record everything."""
    import torch

    result = Trace(output=(), macs=0)
    handles = []
    for name, m in model.named_modules():
        if not name:
            continue

        def hook(m: Any, inp: Any, out: Any, name: str = name) -> None:
            if not isinstance(out, torch.Tensor):
                return
            result.shapes[name] = tuple(out.shape[1:])
            kind = _KIND.get(type(m).__name__)
            if kind is not None:
                result.macs += _macs(m, inp[0], out)
                result.weighted.append((name, kind, count_params(m), count_buffers(m),
                                        tuple(out.shape[1:])))

        handles.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            result.output = tuple(model(torch.zeros(1, *input_shape)).shape[1:])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return result


def count_macs(model: Any, input_shape: tuple[int, ...]) -> int:
    """Multiply-accumulates of one sample's forward pass (conv, deconv, linear; no bias)."""
    return trace(model, input_shape).macs


def module_output_shapes(model: Any, input_shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """Output shape (no batch) of every named submodule, from one forward pass."""
    return trace(model, input_shape).shapes


# ---------------------------------------------------------------------------- LeNet-5


def lenet5() -> Any:
    """LeNet-5 (LeCun et al. 1998) on 1x32x32 with tanh and average pooling."""
    from torch import nn

    class LeNet5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(1, 6, 5), nn.Tanh(), nn.AvgPool2d(2),
                nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),
            )
            self.classifier = nn.Sequential(
                nn.Flatten(),
                nn.Linear(16 * 5 * 5, 120), nn.Tanh(),
                nn.Linear(120, 84), nn.Tanh(),
                nn.Linear(84, 10),
            )

        def forward(self, x: Any) -> Any:
            return self.classifier(self.features(x))

    return LeNet5()


# ---------------------------------------------------------------------------- AlexNet


def alexnet(num_classes: int = 1000) -> Any:
    """AlexNet as torchvision defines it (the one-GPU variant of Krizhevsky's 2014 note)."""
    import torch
    from torch import nn

    class AlexNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                nn.Conv2d(3, 64, 11, stride=4, padding=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2),
                nn.Conv2d(64, 192, 5, padding=2), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2),
                nn.Conv2d(192, 384, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(384, 256, 3, padding=1), nn.ReLU(inplace=True),
                nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2),
            )
            self.avgpool = nn.AdaptiveAvgPool2d(6)
            self.classifier = nn.Sequential(
                nn.Dropout(0.5), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
                nn.Dropout(0.5), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
                nn.Linear(4096, num_classes),
            )

        def forward(self, x: Any) -> Any:
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return AlexNet()


# ---------------------------------------------------------------------------- VGG-16


def vgg16(num_classes: int = 1000) -> Any:
    """VGG-16 (configuration D), no batch norm, as in torchvision."""
    import torch
    from torch import nn

    cfg: list[int | str] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                            512, 512, 512, "M", 512, 512, 512, "M"]

    class VGG(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            layers: list[nn.Module] = []
            c = 3
            for v in cfg:
                if v == "M":
                    layers.append(nn.MaxPool2d(2, 2))
                else:
                    assert isinstance(v, int)
                    layers += [nn.Conv2d(c, v, 3, padding=1), nn.ReLU(inplace=True)]
                    c = v
            self.features = nn.Sequential(*layers)
            self.avgpool = nn.AdaptiveAvgPool2d(7)
            self.classifier = nn.Sequential(
                nn.Linear(512 * 7 * 7, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                nn.Linear(4096, 4096), nn.ReLU(inplace=True), nn.Dropout(0.5),
                nn.Linear(4096, num_classes),
            )

        def forward(self, x: Any) -> Any:
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return VGG()


# ---------------------------------------------------------------------------- ResNets


def _resnet(block: str, counts: list[int], num_classes: int = 1000) -> Any:
    """ResNet v1.5 (stride on the 3x3 conv of a bottleneck), as in torchvision."""
    import torch
    from torch import nn

    def conv_bn(cin: int, cout: int, k: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(cout)]

    class BasicBlock(nn.Module):
        expansion = 1

        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = conv_bn(cin, width, 3, stride)
            self.relu = nn.ReLU(inplace=True)
            self.conv2, self.bn2 = conv_bn(width, width, 3)
            self.downsample = (
                nn.Sequential(*conv_bn(cin, width, 1, stride))
                if stride != 1 or cin != width else None
            )

        def forward(self, x: Any) -> Any:
            out = self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x)))))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    class Bottleneck(nn.Module):
        expansion = 4

        def __init__(self, cin: int, width: int, stride: int) -> None:
            super().__init__()
            self.conv1, self.bn1 = conv_bn(cin, width, 1)
            self.conv2, self.bn2 = conv_bn(width, width, 3, stride)
            self.conv3, self.bn3 = conv_bn(width, width * 4, 1)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = (
                nn.Sequential(*conv_bn(cin, width * 4, 1, stride))
                if stride != 1 or cin != width * 4 else None
            )

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    cls = BasicBlock if block == "basic" else Bottleneck

    class ResNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.bn1 = conv_bn(3, 64, 7, 2)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, 2, padding=1)
            c = 64
            stages = []
            for i, (n, width) in enumerate(zip(counts, [64, 128, 256, 512])):
                blocks = []
                for j in range(n):
                    blocks.append(cls(c, width, 2 if (i > 0 and j == 0) else 1))
                    c = width * cls.expansion
                stages.append(nn.Sequential(*blocks))
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(c, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(torch.flatten(self.avgpool(x), 1))

    return ResNet()


def resnet18(num_classes: int = 1000) -> Any:
    return _resnet("basic", [2, 2, 2, 2], num_classes)


def resnet50(num_classes: int = 1000) -> Any:
    return _resnet("bottleneck", [3, 4, 6, 3], num_classes)


# ---------------------------------------------------------------------------- MobileNetV2


def _conv_bn_act(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1,
                 act: Callable[[], Any] | None = None) -> Any:
    """conv (no bias, 'half' padding) + batch norm [+ activation], as a Sequential."""
    from torch import nn

    layers = [nn.Conv2d(cin, cout, k, stride, (k - 1) // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)


def mobilenet_v2(num_classes: int = 1000) -> Any:
    """MobileNetV2 (Sandler et al. 2018), width 1.0, as torchvision builds it."""
    import torch
    from torch import nn

    def relu6() -> nn.Module:
        return nn.ReLU6(inplace=True)

    class InvertedResidual(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int, t: int) -> None:
            super().__init__()
            hidden = cin * t
            self.use_res_connect = stride == 1 and cin == cout
            layers: list[nn.Module] = []
            if t != 1:
                layers.append(_conv_bn_act(cin, hidden, 1, act=relu6))
            layers += [
                _conv_bn_act(hidden, hidden, 3, stride, groups=hidden, act=relu6),
                nn.Conv2d(hidden, cout, 1, bias=False),
                nn.BatchNorm2d(cout),
            ]
            self.conv = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            return x + self.conv(x) if self.use_res_connect else self.conv(x)

    # t (expansion), c (output channels), n (repeats), s (stride of the first block)
    setting = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
               (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    class MobileNetV2(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            features: list[nn.Module] = [_conv_bn_act(3, 32, 3, 2, act=relu6)]
            c = 32
            for t, cout, n, s in setting:
                for i in range(n):
                    features.append(InvertedResidual(c, cout, s if i == 0 else 1, t))
                    c = cout
            features.append(_conv_bn_act(c, 1280, 1, act=relu6))
            self.features = nn.Sequential(*features)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def forward(self, x: Any) -> Any:
            x = nn.functional.adaptive_avg_pool2d(self.features(x), 1)
            return self.classifier(torch.flatten(x, 1))

    return MobileNetV2()


# ---------------------------------------------------------------------------- EfficientNet-B0


def efficientnet_b0(num_classes: int = 1000) -> Any:
    """EfficientNet-B0 (Tan & Le 2019) with torchvision's layer layout (BN eps 1e-5)."""
    import torch
    from torch import nn

    class SqueezeExcitation(nn.Module):
        def __init__(self, channels: int, squeeze: int) -> None:
            super().__init__()
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc1 = nn.Conv2d(channels, squeeze, 1)
            self.fc2 = nn.Conv2d(squeeze, channels, 1)
            self.activation = nn.SiLU(inplace=True)
            self.scale_activation = nn.Sigmoid()

        def forward(self, x: Any) -> Any:
            s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
            return s * x

    class MBConv(nn.Module):
        def __init__(self, cin: int, cout: int, k: int, stride: int, t: int) -> None:
            super().__init__()
            hidden = cin * t
            self.use_res_connect = stride == 1 and cin == cout
            layers: list[nn.Module] = []
            if t != 1:
                layers.append(_conv_bn_act(cin, hidden, 1, act=nn.SiLU))
            layers += [
                _conv_bn_act(hidden, hidden, k, stride, groups=hidden, act=nn.SiLU),
                SqueezeExcitation(hidden, max(1, cin // 4)),
                _conv_bn_act(hidden, cout, 1),
            ]
            self.block = nn.Sequential(*layers)

        def forward(self, x: Any) -> Any:
            # stochastic depth is the identity at inference and has no parameters
            return x + self.block(x) if self.use_res_connect else self.block(x)

    # expand ratio, kernel, stride, out channels, repeats
    setting = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
               (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]

    class EfficientNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            features: list[nn.Module] = [_conv_bn_act(3, 32, 3, 2, act=nn.SiLU)]
            c = 32
            for t, k, s, cout, n in setting:
                stage = []
                for i in range(n):
                    stage.append(MBConv(c, cout, k, s if i == 0 else 1, t))
                    c = cout
                features.append(nn.Sequential(*stage))
            features.append(_conv_bn_act(c, 1280, 1, act=nn.SiLU))
            self.features = nn.Sequential(*features)
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, num_classes))

        def forward(self, x: Any) -> Any:
            return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))

    return EfficientNet()


# ---------------------------------------------------------------------------- DenseNet


def densenet121(num_classes: int = 1000) -> Any:
    """DenseNet-121 (Huang et al. 2017) as torchvision builds it: growth 32, bottleneck 4 * 32,
    blocks (6, 12, 24, 16), each dense layer reading the concatenation of all earlier maps."""
    import torch
    from torch import nn

    growth, width = 32, 4 * 32

    class DenseLayer(nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.norm1, self.relu1 = nn.BatchNorm2d(cin), nn.ReLU(inplace=True)
            self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
            self.norm2, self.relu2 = nn.BatchNorm2d(width), nn.ReLU(inplace=True)
            self.conv2 = nn.Conv2d(width, growth, 3, padding=1, bias=False)

        def forward(self, features: list[Any]) -> Any:
            x = torch.cat(features, 1)
            return self.conv2(self.relu2(self.norm2(self.conv1(self.relu1(self.norm1(x))))))

    class DenseBlock(nn.ModuleDict):
        def __init__(self, layers: int, cin: int) -> None:
            super().__init__({f"denselayer{i + 1}": DenseLayer(cin + i * growth)
                              for i in range(layers)})

        def forward(self, x: Any) -> Any:
            features = [x]
            for layer in self.values():
                features.append(layer(features))
            return torch.cat(features, 1)

    class DenseNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            parts: list[tuple[str, nn.Module]] = [
                ("conv0", nn.Conv2d(3, 64, 7, 2, 3, bias=False)), ("norm0", nn.BatchNorm2d(64)),
                ("relu0", nn.ReLU(inplace=True)), ("pool0", nn.MaxPool2d(3, 2, 1))]
            c = 64
            for i, n in enumerate((6, 12, 24, 16)):
                parts.append((f"denseblock{i + 1}", DenseBlock(n, c)))
                c += n * growth
                if i < 3:
                    parts.append((f"transition{i + 1}", nn.Sequential(
                        nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                        nn.Conv2d(c, c // 2, 1, bias=False), nn.AvgPool2d(2, 2))))
                    c //= 2
            parts.append(("norm5", nn.BatchNorm2d(c)))
            self.features = nn.Sequential(OrderedDict(parts))
            self.classifier = nn.Linear(c, num_classes)

        def forward(self, x: Any) -> Any:
            x = torch.relu(self.features(x))
            return self.classifier(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))

    return DenseNet()


# ---------------------------------------------------------------------------- U-Net


def unet(in_channels: int = 3, num_classes: int = 2, base: int = 64) -> Any:
    """U-Net (Ronneberger et al. 2015) with padded convs, batch norm and learned upsampling."""
    import torch
    from torch import nn

    def double_conv(cin: int, cout: int) -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
            nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout),
            nn.ReLU(inplace=True),
        )

    class Up(nn.Module):
        def __init__(self, cin: int, cout: int) -> None:
            super().__init__()
            self.up = nn.ConvTranspose2d(cin, cout, 2, stride=2)
            self.conv = double_conv(2 * cout, cout)

        def forward(self, x: Any, skip: Any) -> Any:
            return self.conv(torch.cat([skip, self.up(x)], dim=1))

    class UNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            w = [base, base * 2, base * 4, base * 8, base * 16]
            self.enc1 = double_conv(in_channels, w[0])
            self.enc2 = nn.Sequential(nn.MaxPool2d(2), double_conv(w[0], w[1]))
            self.enc3 = nn.Sequential(nn.MaxPool2d(2), double_conv(w[1], w[2]))
            self.enc4 = nn.Sequential(nn.MaxPool2d(2), double_conv(w[2], w[3]))
            self.bottleneck = nn.Sequential(nn.MaxPool2d(2), double_conv(w[3], w[4]))
            self.dec4 = Up(w[4], w[3])
            self.dec3 = Up(w[3], w[2])
            self.dec2 = Up(w[2], w[1])
            self.dec1 = Up(w[1], w[0])
            self.head = nn.Conv2d(w[0], num_classes, 1)

        def forward(self, x: Any) -> Any:
            e1 = self.enc1(x)
            e2 = self.enc2(e1)
            e3 = self.enc3(e2)
            e4 = self.enc4(e3)
            d = self.bottleneck(e4)
            d = self.dec1(self.dec2(self.dec3(self.dec4(d, e4), e3), e2), e1)
            return self.head(d)

    return UNet()


# ---------------------------------------------------------------------------- M5 (audio)


def m5(num_classes: int = 10) -> Any:
    """M5 raw-waveform CNN (Dai et al. 2017) on 1x32000 (2 s at 16 kHz)."""
    import torch
    from torch import nn

    def stage(cin: int, cout: int, k: int, stride: int = 1, padding: int = 0) -> list[nn.Module]:
        return [nn.Conv1d(cin, cout, k, stride, padding), nn.BatchNorm1d(cout),
                nn.ReLU(inplace=True), nn.MaxPool1d(4)]

    class M5(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                *stage(1, 128, 80, stride=4),
                *stage(128, 128, 3, padding=1),
                *stage(128, 256, 3, padding=1),
                *stage(256, 512, 3, padding=1),
            )
            self.avgpool = nn.AdaptiveAvgPool1d(1)
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x: Any) -> Any:
            return self.fc(torch.flatten(self.avgpool(self.features(x)), 1))

    return M5()


# ---------------------------------------------------------------------------- registry

# zoo spec file stem -> (builder, input shape, output shape)
ZOO: dict[str, tuple[Callable[[], Any], tuple[int, ...], tuple[int, ...]]] = {
    "lenet5": (lenet5, (1, 32, 32), (10,)),
    "alexnet": (alexnet, (3, 224, 224), (1000,)),
    "vgg16": (vgg16, (3, 224, 224), (1000,)),
    "resnet18": (resnet18, (3, 224, 224), (1000,)),
    "resnet50": (resnet50, (3, 224, 224), (1000,)),
    "mobilenet_v2": (mobilenet_v2, (3, 224, 224), (1000,)),
    "densenet121": (densenet121, (3, 224, 224), (1000,)),
    "efficientnet_b0": (efficientnet_b0, (3, 224, 224), (1000,)),
    "unet": (unet, (3, 256, 256), (2, 256, 256)),
    "m5_audio": (m5, (1, 32000), (10,)),
}
