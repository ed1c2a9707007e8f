"""A placeholder class for every torchvision name timm imports but the timm tests never use."""

from __future__ import annotations

from typing import Any


class Unavailable:
    """Raises when used: the stand-in has no real torchvision behind it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} needs the real torchvision; this is the test stand-in")


def unavailable(name: str) -> type[Unavailable]:
    """A subclass of :class:`Unavailable` called ``name``."""
    return type(name, (Unavailable,), {})
