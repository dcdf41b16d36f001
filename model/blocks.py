"""Convolution blocks with explicit padding (ONNX-friendly: no ``padding='same'`` with dilation)."""

from __future__ import annotations

from torch import nn


def same_padding(kernel_size: tuple[int, int], dilation: tuple[int, int] = (1, 1)) -> tuple[int, int]:
    """Symmetric padding keeping the size for odd kernels: ``dilation * (k - 1) // 2`` per axis."""
    return tuple(d * (k - 1) // 2 for k, d in zip(kernel_size, dilation))  # type: ignore[return-value]


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias) -> BatchNorm2d -> ReLU on ``(batch, channels, freq, time)`` maps.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size : (int, int)
        (frequency, time).
    stride, dilation : (int, int)
    padding : (int, int) or None
        Explicit zero padding; None = size-preserving for stride 1.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: tuple[int, int],
        *,
        stride: tuple[int, int] = (1, 1),
        dilation: tuple[int, int] = (1, 1),
        padding: tuple[int, int] | None = None,
    ) -> None:
        if padding is None:
            padding = same_padding(kernel_size, dilation)
        super().__init__(
            nn.Conv2d(
                in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                dilation=dilation, bias=False,
            ),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )
