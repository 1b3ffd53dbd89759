"""Package names looked up when first used (PEP 562), so importing a light module of a package does not import
its heavy ones (torch's model stack, diffusers): the app starts without them.

    __getattr__, __dir__ = lazy_names(__name__, {"SynthesisPipeline": "engine.pipelines.synthesis", ...})
"""
from __future__ import annotations

import importlib
import sys
from typing import Callable, Mapping


def lazy_names(package: str, homes: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`: a name of `homes` is imported from its module when first
    used, then kept in the package's namespace."""
    def getattr_(name: str):
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(homes[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    def dir_() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(homes))
    return getattr_, dir_
