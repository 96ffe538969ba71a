"""Small networks for tests/test_export_torch.py: one per op and argument form, each
exported and compared with cnncalc's NumPy forward."""
from __future__ import annotations

# One small network per op and argument form; the name says what it exercises.
CASES = {
    "conv-same-asymmetric": """
        input: [3, 10, 9]
        layers:
          - conv: {filters: 4, kernel: [3, 4], stride: 2, padding: same}
          - conv: {filters: 4, kernel: 2, padding: [[0, 1], [2, 0]], bias: false}
          - conv: {filters: 6, kernel: 3, padding: 2, dilation: 2, groups: 2}
          - conv: {groups: depthwise, kernel: 3, stride: [1, 2], padding: [1, 0]}
    """,
    "conv-1d-3d": """
        input: [2, 6, 7, 8]
        layers:
          - conv: {filters: 3, kernel: [1, 3, 2], padding: same}
          - conv: {filters: 2, kernel: 3, stride: 2, padding: 1}
          - gap
          - flatten
          - dense: {units: 5, bias: false}
    """,
    "conv-1d": """
        input: [2, 20]
        layers:
          - conv: {filters: 4, kernel: 5, stride: 3, padding: same}
          - bn: {eps: 0.001}
          - avgpool: {kernel: 2, ceil_mode: true}
          - maxpool: {kernel: 2, stride: 1, padding: [[1, 0]]}
          - gmp
    """,
    "deconv": """
        input: [4, 5, 6]
        layers:
          - deconv: {filters: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}
          - deconv: {filters: 3, kernel: 4, stride: 2, padding: same, bias: false}
          - deconv: {filters: 3, kernel: 3, stride: 3, padding: same, dilation: 2}
          - deconv: {filters: 2, kernel: [2, 3], stride: [1, 2], padding: [[1, 0], [0, 2]]}
    """,
    "pools-ceil-asymmetric": """
        input: [3, 10, 11]
        layers:
          - maxpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, name: max_ceil}
          - maxpool: {kernel: 2, stride: 2, padding: [[0, 1], [1, 0]], ceil_mode: true, in: input}
          - maxpool: {kernel: 3, stride: 2, padding: same, dilation: [1, 2], in: input}
          - avgpool: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, count_include_pad: false, in: input}
          - avgpool: {kernel: 3, stride: 2, padding: [[1, 1], [0, 1]], ceil_mode: true, in: input}
          - avgpool: {kernel: 2, stride: 3, padding: same, count_include_pad: false, ceil_mode: true,
                      in: input, name: avg_same}
          - avgpool: {kernel: 3, stride: 1, padding: 1, in: input, name: avg_plain}
          - adaptive_avgpool: {output: [4, 3], in: max_ceil}
          - adaptive_maxpool: {output: [3, null], in: avg_plain}
        outputs: [maxpool1, maxpool2, avgpool1, avgpool2, avg_same, adaptive_avgpool1, adaptive_maxpool1]
    """,
    "norms-and-activations": """
        input: [8, 5, 6]
        layers:
          - layernorm
          - groupnorm: {groups: 4, eps: 0.001}
          - lrn: {size: 3, alpha: 0.01, beta: 0.6, k: 2}
          - relu6
          - leaky_relu: {slope: 0.2}
          - gelu
          - silu
          - hardswish
          - hardsigmoid
          - sigmoid
          - tanh
          - identity
          - dropout: 0.3
          - layernorm: {over: all, eps: 0.0001}
          - softmax: {axis: -1}
          - softmax
          - flatten
          - layernorm
          - bn
          - relu
    """,
    "merges-and-reshapes": """
        input: [6, 8, 8]
        layers:
          - conv: {filters: 6, kernel: 1, name: a}
          - gap: {name: pooled}
          - multiply: {in: [a, pooled]}
          - add: {in: [multiply1, input, a]}
          - concat: {in: [add1, a], axis: 2, name: tall}
          - concat: {in: [tall, tall]}
          - slice: {start: 2, stop: -4}
          - slice: {axis: -1, start: -5}
          - slice: {axis: 1, start: 1, stop: 7}
          - pad: {padding: [[1, 0], [0, 2]]}
          - pad: 1
          - channel_shuffle: 3
          - flatten: {name: flat}
          - dense: 16
          - add: {in: [dense1, tall]}
    """,
    "new-ops": """
        input: [4, 9, 8]
        blocks:
          option_a:
            layers:
              - slice: {axis: 1, step: 2, name: rows}
              - slice: {axis: -1, start: 1, stop: 8, step: 3}
              - channel_pad: {before: 2, after: 3}
        layers:
          - channel_dense: {units: 6, name: pw}
          - scale: {init: 0.001}
          - drop_path: {rate: 0.2, mode: batch}
          - layernorm
          - channel_dense: {units: 3, bias: false}
          - option_a: {in: pw, name: shortcut}
          - slice: {start: 1, step: 4, in: pw}
          - gap
          - flatten
          - scale
          - drop_path: 0.1
          - channel_pad: {after: 1}
        outputs: [channel_dense1, shortcut, channel_pad1]
    """,
    "upsample-modes": """
        input: [2, 5, 4]
        layers:
          - upsample: {scale: 2, name: near2}
          - upsample: {scale: 1.5, in: input}
          - upsample: {scale: [2, 1.5], mode: nearest-exact, in: input}
          - upsample: {scale: 2.5, mode: nearest-exact, in: input}
          - upsample: {scale: 1.7, mode: bilinear, in: input}
          - upsample: {scale: 2, mode: linear, align_corners: true, in: input}
          - upsample: {scale: [1.5, 3], mode: bicubic, in: input}
          - upsample: {scale: 2, mode: bicubic, align_corners: true, in: input}
        outputs: [near2, upsample1, upsample2, upsample3, upsample4, upsample5, upsample6, upsample7]
    """,
    "upsample-1d-3d": """
        input: [2, 3, 4, 5]
        layers:
          - upsample: {scale: 1.5, mode: trilinear, name: tri}
          - upsample: {scale: [2, 1, 1.5], mode: nearest-exact, in: input}
          - conv: {filters: 2, kernel: [3, 1, 1], in: input}
          - flatten
        outputs: [tri, upsample1, flatten1]
    """,
    "python-words-as-names": """
        input: [2, 6, 6]
        blocks:
          mix:
            args: {self: required, lambda: required}
            layers:
              - add: {in: [$in, $self, $lambda], name: class}
              - relu: {name: x}
        layers:
          - conv: {filters: 2, kernel: 1, name: torch}
          - conv: {filters: 2, kernel: 1, name: F, in: input}
          - mix: {self: torch, lambda: F, in: input, name: def}
          - mix: {self: def, lambda: def, name: nn}
    """,
    "channels-last": """
        input: {shape: [9, 8, 3], layout: channels_last}
        layers:
          - conv: {filters: 4, kernel: 3, padding: same, name: features}
          - relu
          - gap
          - flatten
          - dense: 3
        outputs: [features, dense1]
    """,
    "blocks-args-and-repeats": """
        input: [4, 8, 8]
        blocks:
          unit:
            args: {filters: required, skip: required}
            layers:
              - conv: {filters: $filters, kernel: 3, padding: 1, name: body}
              - concat: {in: [body, $skip]}
              - conv: {filters: $filters, kernel: 1}
          res:
            args: {filters: 4}
            layers:
              - conv: {filters: $filters, kernel: 3, padding: 1, name: my-conv}
              - add: {in: [my-conv, $in], if: "${in_channels == filters}"}
        layers:
          - conv: {filters: 4, kernel: 1, name: stem}
          - unit: {filters: 4, skip: stem, repeat: 3, name: stage}
          - res: {repeat: 2, name: lambda}
          - res: {filters: 6}
          - conv: {filters: 2, kernel: 1, repeat: 2, name: head}
        outputs: [head, stage.1.body, lambda.0]
    """,
}
