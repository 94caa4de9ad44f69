"""rPPG methods behind one interface (``BVPMethod``), found by name.

    from kdphys.methods import get_method
    bvp = get_method("pos").bvp(rgb_trace, fps=30.0)     # (n_frames, 3) 0..255 -> (n_frames,)

Classical methods ("pos", "chrom", "pbv", "green", and "pbv-pos-or-green", which reads whichever of PBV, POS
and green shows the clearer pulse) live in this package and are always available. Neural
methods ("student", "student-torch", "teacher") live in ``kdphys.methods.neural``, which needs torch /
onnxruntime and model weights; it is imported only when one of those names is asked for.

Hook for neural.py (or any other plugin module): at import time it calls
``register_method(name, factory)`` for each of its names, where ``factory(**kw) -> BVPMethod``.
``get_method`` imports the module listed for a name in ``LAZY_METHOD_MODULES`` the first time that
name is requested, then looks the name up again.
"""

from __future__ import annotations

import importlib
from typing import Callable

from kdphys.methods.base import BVPMethod
from kdphys.methods.chrom import CHROM
from kdphys.methods.clearest import ClearestOf
from kdphys.methods.green import Green
from kdphys.methods.pbv import PBV
from kdphys.methods.pos import POS

CLASSICAL_METHODS = ("pos", "chrom", "pbv", "green", "pbv-pos-or-green")

#: name -> module that registers it on import (see the module docstring).
LAZY_METHOD_MODULES: dict[str, str] = {
    "student": "kdphys.methods.neural",
    "student-torch": "kdphys.methods.neural",
    "teacher": "kdphys.methods.neural",
}

_FACTORIES: dict[str, Callable[..., BVPMethod]] = {"pos": POS, "chrom": CHROM, "pbv": PBV, "green": Green,
                                                   "pbv-pos-or-green": ClearestOf}


def register_method(name: str, factory: Callable[..., BVPMethod]) -> None:
    """Make ``get_method(name, **kw)`` return ``factory(**kw)``. Re-registering a name replaces it."""
    _FACTORIES[name.lower()] = factory


def available_methods() -> tuple[str, ...]:
    """Every name ``get_method`` knows, classical first (neural ones may still fail to load)."""
    names = list(CLASSICAL_METHODS) + [n for n in _FACTORIES if n not in CLASSICAL_METHODS]
    return tuple(names + [n for n in LAZY_METHOD_MODULES if n not in names])


def get_method(name: str, **kw) -> BVPMethod:
    """Build a method by name.

    Args:
        name: "pos", "chrom", "pbv", "green", "pbv-pos-or-green", or a neural name ("student", "student-torch", "teacher").
        **kw: settings passed to the method's constructor (e.g. ``window_s=1.6`` for POS).

    Raises:
        ValueError: unknown name (the message lists the known ones).
        ImportError: a neural method whose module cannot be imported (message says what is missing).
    """
    key = str(name).strip().lower()
    if key not in _FACTORIES and key in LAZY_METHOD_MODULES:
        module = LAZY_METHOD_MODULES[key]
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ImportError(
                f"Method {name!r} needs {module}, which could not be imported: {err}. Install the "
                f"requirements (torch, onnxruntime) or choose one of {', '.join(CLASSICAL_METHODS)}."
            ) from err
        if key not in _FACTORIES:
            raise ValueError(f"{module} was imported but did not register {name!r} with register_method().")
    if key not in _FACTORIES:
        raise ValueError(f"Unknown method {name!r}. Choose one of: {', '.join(available_methods())}.")
    return _FACTORIES[key](**kw)


__all__ = ["BVPMethod", "CHROM", "CLASSICAL_METHODS", "ClearestOf", "Green", "LAZY_METHOD_MODULES", "PBV", "POS",
           "available_methods", "get_method", "register_method"]
