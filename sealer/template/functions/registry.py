"""The function map: what each name takes, and which Sprig names are refused (and why)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sealer.template.errors import TemplateError
from sealer.template.lexer import where

F = TypeVar("F", bound=Callable[..., Any])


class Func:
    """``params``: one letter per parameter -- s string, i int, b bool, a interface{},
    m map[string]interface{}, v reflect.Value; with ``variadic``, the last letter is the element
    type of the ...parameter. ``budget``: the implementation takes the Budget first, because what
    it makes may be bigger than its arguments (it checks before it allocates)."""

    __slots__ = ("budget", "impl", "name", "params", "variadic")

    def __init__(self, name: str, params: str, variadic: bool, impl: Callable[..., Any] | None, budget: bool) -> None:
        self.name, self.params, self.variadic, self.impl, self.budget = name, params, variadic, impl, budget


FUNCS: dict[str, Func] = {}


def fn(names: str, params: str = "", variadic: bool = False, budget: bool = False) -> Callable[[F], F]:
    """Register a function under each of ``names``."""

    def register(f: F) -> F:
        for name in names.split():
            FUNCS[name] = Func(name, params, variadic, f, budget)
        return f

    return register


def register_special(names: str, params: str, variadic: bool) -> None:
    """A function the executor evaluates itself (and / or: lazily)."""
    for name in names.split():
        FUNCS[name] = Func(name, params, variadic, None, False)


# Sprig functions that exist in Bitnami's function map but are not supported here.
NONDETERMINISTIC = set(
    "randAlphaNum randAlpha randAscii randNumeric randInt randBytes shuffle uuidv4 now ago "
    "bcrypt htpasswd genPrivateKey genCA genCAWithKey genSelfSignedCert genSelfSignedCertWithKey "
    "genSignedCert genSignedCertWithKey encryptAES".split()
)
NOT_IMPLEMENTED = set(
    "abbrev abbrevboth untitle initials swapcase snakecase camelcase kebabcase wrap wrapWith "
    "float64 toDecimal seq until untilStep add1f addf subf divf mulf maxf minf ceil floor round "
    "dig chunk mustChunk concat pluck merge mergeOverwrite mustMerge mustMergeOverwrite values "
    "deepCopy mustDeepCopy typeIsLike base dir clean ext isAbs osBase osClean osDir osExt osIsAbs "
    "date dateInZone date_in_zone dateModify date_modify mustDateModify must_date_modify htmlDate "
    "htmlDateInZone unixEpoch toDate mustToDate duration durationRound buildCustomCert "
    "derivePassword decryptAES semver semverCompare regexMatch mustRegexMatch regexFindAll "
    "mustRegexFindAll regexFind mustRegexFind regexReplaceAll mustRegexReplaceAll "
    "regexReplaceAllLiteral mustRegexReplaceAllLiteral regexSplit mustRegexSplit regexQuoteMeta "
    "urlParse urlJoin call".split()
)


def check_function(name: str, text: str, pos: int) -> None:
    """At parse time, as Go: an unknown name is an error; ours also names what we refuse."""
    at = f"template: {where(text, pos)}"
    if name in NONDETERMINISTIC:
        raise TemplateError(
            f"{at}: function {name!r} is not supported: its output is not "
            "deterministic, so the Secret would change on every sync"
        )
    if name in NOT_IMPLEMENTED:
        raise TemplateError(f"{at}: function {name!r} is not supported by this renderer")
    if name not in FUNCS:
        raise TemplateError(f"{at}: function {name!r} not defined")
