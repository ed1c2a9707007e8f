"""torchvision.ops.misc stand-in: timm's norm layers import ``FrozenBatchNorm2d`` by name."""

from torch import nn


class FrozenBatchNorm2d(nn.Module):
    """Never instantiated by the tests; timm only checks ``isinstance`` against it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        raise NotImplementedError("FrozenBatchNorm2d needs the real torchvision; this is the test stand-in")
