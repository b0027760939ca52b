"""Rendering findings: ``path:line: message`` for people, JSON for scripts, SARIF 2.1.0 for
code-scanning dashboards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sealer._version import __version__
from sealer.hooks.findings import RULES, WARNING, Finding

FORMATS = ("text", "json", "sarif")


def render(
    findings: list[Finding], fmt: str, *, tool: str, rules: tuple[str, ...], relpath: Callable[[str], str]
) -> str:
    """``findings`` include the suppressed ones (SARIF reports them as such; text and JSON leave
    them out). ``relpath`` maps a path as given to one relative to the repository root."""
    active = [f for f in findings if f.suppressed is None]
    if fmt == "text":
        return "".join(_as_text(f) + "\n" for f in active)
    import json

    if fmt == "json":
        return json.dumps([_as_json(f) for f in active], indent=2) + "\n"
    return json.dumps(_sarif(findings, tool, rules, relpath), indent=2) + "\n"


def _as_text(f: Finding) -> str:
    level = "warning: " if f.level == WARNING else ""
    return f"{f.path}:{f.line}: {level}{f.message} ({f.rule})"


def _as_json(f: Finding) -> dict[str, Any]:
    return {"path": f.path, "line": f.line, "rule": f.rule, "level": f.level, "message": f.message}


def _sarif(
    findings: list[Finding], tool: str, rule_ids: tuple[str, ...], relpath: Callable[[str], str]
) -> dict[str, Any]:
    from urllib.parse import quote

    index = {rule: i for i, rule in enumerate(rule_ids)}
    results = []
    for f in findings:
        result = {
            "ruleId": f.rule,
            "ruleIndex": index[f.rule],
            "level": f.level,
            "message": {"text": f.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": quote(relpath(f.path)), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": f.line},
                    }
                }
            ],
        }
        if f.suppressed is not None:
            result["suppressions"] = [{"kind": f.suppression or "external", "justification": f.suppressed}]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool,
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [_sarif_rule(rule) for rule in rule_ids],
                    }
                },
                "results": results,
            }
        ],
    }


def _sarif_rule(rule_id: str) -> dict[str, Any]:
    rule = RULES[rule_id]
    return {
        "id": rule.id,
        "name": "".join(part.capitalize() for part in rule.id.split("-")),
        "shortDescription": {"text": rule.summary},
        "defaultConfiguration": {"level": rule.level},
        "properties": {"tags": ["security", "kubernetes"]},
    }
