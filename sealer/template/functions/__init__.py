"""The functions a template may call: Go's builtins and the deterministic part of Sprig v3.

Importing this package fills ``FUNCS``, family by family.
"""

from __future__ import annotations

from sealer.template.functions import builtins, collections, encoding, flow, numbers, strings  # noqa: F401
from sealer.template.functions.flow import fail
from sealer.template.functions.registry import FUNCS, NONDETERMINISTIC, NOT_IMPLEMENTED, Func, check_function

__all__ = ["FUNCS", "NONDETERMINISTIC", "NOT_IMPLEMENTED", "Func", "check_function", "fail"]
