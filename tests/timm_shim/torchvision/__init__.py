"""A stand-in for torchvision with just the names timm touches at import time (see ../README.md)."""
