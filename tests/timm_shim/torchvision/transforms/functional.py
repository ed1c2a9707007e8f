"""torchvision.transforms.functional stand-in: timm maps ``InterpolationMode`` members at import time."""

from enum import Enum


class InterpolationMode(Enum):
    """The members timm's transforms name, with torchvision's values."""

    NEAREST = "nearest"
    BILINEAR = "bilinear"
    BICUBIC = "bicubic"
    BOX = "box"
    HAMMING = "hamming"
    LANCZOS = "lanczos"
