"""torchvision.transforms stand-in: timm subclasses ``ToTensor`` at import time."""

from torchvision._unavailable import unavailable

ToTensor = unavailable("ToTensor")
