"""Go text/template + Sprig, as Bitnami's controller renders ``spec.template.data``.

Bitnami parses each template with ``text/template`` and Sprig's ``GenericFuncMap`` (minus
``env``, ``expandenv`` and ``getHostByName``) and executes it against a ``map[string]string`` of
the decrypted items. This package re-implements a well-defined subset of that, byte for byte,
with no dependencies::

    render('user: {{ .user | quote }}', {"user": "bob"})  ->  'user: "bob"'

The subset is the whole template language (actions, trim markers, comments, variables,
pipelines, if/with/range/else/break/continue, define/template/block) with the Go builtins and
the deterministic Sprig functions of ``functions.FUNCS``. Anything else -- complex numbers,
``call``, non-deterministic Sprig functions such as ``randAlphaNum`` or ``now`` (the controller
would rewrite the Secret on every sync), and Sprig functions not implemented here -- raises
``TemplateError`` naming the construct and its line and column.

Templates come from whoever may create a SealedSecret, so every evaluation is bounded as it
goes, by a ``Budget`` (see ``limits``): steps, bytes allocated, the size of any one string, the
output, nesting, and wall-clock time. Pass one ``Budget`` to several ``render`` calls to bound
them together (the controller does, per SealedSecret).

Go strings are bytes. Values are Python ``str``; bytes that are not UTF-8 (from ``b64dec``,
``trunc``, ``"\\xff"`` ...) are carried as PEP 383 surrogate escapes, so
``render(...).encode("utf-8", "surrogateescape")`` gives exactly Go's bytes.

A ``TemplateError``'s message ends up in the SealedSecret's status, in Events and in logs, which
people who may not read Secrets can see. So an execution error names its position, the construct
or function and type names, and the engine's limits, but never a value, nor anything computed
from one (an index, a length, a bound, a character, a fragment of output). ``fail`` shows its
message only when the template spells it out as a string constant. Parse errors may quote the
template itself, which is not secret.

Layout: ``lexer`` → ``parser`` (``nodes``, ``literals``) → ``executor``, which calls
``functions`` (by family) over the value model of ``values``, rendering with ``fmt``, ``text``
and ``jsoncodec``; ``limits`` holds the budget. Nothing here imports the rest of sealer.
"""

from __future__ import annotations

from collections.abc import Mapping

from sealer.template.errors import ExecError, LimitError, TemplateError
from sealer.template.executor import Exec
from sealer.template.lexer import where
from sealer.template.limits import LIMITS, Budget, Limits
from sealer.template.parser import Parser
from sealer.template.values import StrMap

__all__ = ["LIMITS", "Budget", "Limits", "TemplateError", "render"]


def render(template_text: str, values: Mapping[str, str], budget: Budget | None = None) -> str:
    """Render a Go template against a map[string]string, as Bitnami's controller does.

    Raises TemplateError for parse and execution errors, unsupported constructs and exceeded
    limits (a fresh ``Budget()`` unless one is given). Bytes that are not UTF-8 come back as
    surrogate escapes (see the package docstring).
    """
    if not isinstance(template_text, str) or not isinstance(values, Mapping):
        raise TemplateError("render() takes a template string and a mapping of values")
    budget = Budget() if budget is None else budget
    data = StrMap()
    for k, v in values.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TemplateError("template values must map strings to strings")
        data[k] = v
    try:
        if budget.steps:  # a budget other renders used: it may have run out of time meanwhile
            budget.check_time()
        root, trees = Parser(template_text, budget).parse()
        ex = Exec(template_text, trees, budget, data)
        try:
            ex.walk(data, root)
            return ex.finish()
        except ExecError as e:
            raise TemplateError(f"template: {where(template_text, e.pos)}: {e}") from None
        except LimitError as e:
            raise TemplateError(f"template: {where(template_text, ex.pos)}: {e}") from None
    except LimitError as e:  # before any position (the clock, between two templates)
        raise TemplateError(f"template: {e}") from None
    except RecursionError:
        raise TemplateError("template or value is nested too deeply") from None
    except MemoryError:  # the limits should prevent it; if not, this template fails, not the process
        raise TemplateError("template evaluation ran out of memory") from None
    except UnicodeError:
        raise TemplateError("template text or values are not valid Unicode") from None
