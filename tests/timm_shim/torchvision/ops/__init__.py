"""torchvision.ops stand-in: only ``misc``."""
