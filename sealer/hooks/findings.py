"""What the hooks report: findings, the rules they come from, and how severe each is.

A finding's message names the object and the field, never a value: findings end up in CI logs and
code-scanning dashboards, which is exactly where a leaked value must not be copied to.

(No dataclasses in the hooks: importing the module costs milliseconds at every hook start.)
"""

from __future__ import annotations

from typing import NamedTuple

ERROR = "error"
WARNING = "warning"


class Rule(NamedTuple):
    id: str
    summary: str
    level: str = ERROR


_ALL = (
    # sealer-no-plaintext-secrets
    Rule("plaintext-secret", "A Secret with plaintext data or stringData"),
    Rule("sealing-key-backup", "A key Secret: a sealing-key (or TLS key) backup with its private key"),
    Rule("private-key", "A PEM private key, raw or base64-encoded"),
    Rule("kustomize-secret-literal", "A kustomize secretGenerator with plaintext literals"),
    Rule("kustomize-secret-file", "A kustomize secretGenerator that reads a file tracked in Git"),
    Rule("unparseable-secret", "Looks like a Secret but cannot be parsed, so it cannot be checked"),
    Rule("duplicate-key", "A key given twice where a Secret may be: parsers keep the last, Git keeps both"),
    Rule("escrow-malformed", "An escrow object not as the controller writes it (a share that is no sealed value)"),
    # sealer-validate-sealed
    Rule("sealed-kind", "A SealedSecret with the wrong apiVersion or kind"),
    Rule("sealed-shape", "A SealedSecret without a name, spec or encryptedData map"),
    Rule("sealed-namespace", "A namespace-bound SealedSecret without a namespace in the manifest", WARNING),
    Rule("sealed-scope", "Scope annotations, or template name/namespace, that disagree"),
    Rule("sealed-value", "An encryptedData value that is not base64 or not a well-formed sealed value"),
    Rule("sealed-unknown-key", "Sealed for a key that is not among the certificates in .sealer.yaml"),
    Rule("sealed-key-size", "A value whose RSA block size fits none of the expected certificates"),
    Rule("unparseable", "A manifest with a SealedSecret that cannot be parsed"),
)
RULES: dict[str, Rule] = {rule.id: rule for rule in _ALL}

NO_PLAINTEXT_RULES = (
    "plaintext-secret",
    "sealing-key-backup",
    "private-key",
    "kustomize-secret-literal",
    "kustomize-secret-file",
    "unparseable-secret",
    "duplicate-key",
    "escrow-malformed",
)
VALIDATE_SEALED_RULES = (
    "sealed-kind",
    "sealed-shape",
    "sealed-namespace",
    "sealed-scope",
    "sealed-value",
    "sealed-unknown-key",
    "sealed-key-size",
    "unparseable",
)


class Finding:
    __slots__ = ("level", "line", "message", "path", "rule", "suppressed", "suppression")

    def __init__(
        self,
        path: str,
        line: int,
        rule: str,
        message: str,
        level: str = ERROR,
        suppressed: str | None = None,
        suppression: str | None = None,
    ):
        self.path = path
        self.line = line
        self.rule = rule
        self.message = message
        self.level = level
        # The reason an allow-list entry or annotation gives, when one covers this finding: it is
        # then left out of text and JSON output, and reported as suppressed in SARIF.
        self.suppressed = suppressed
        self.suppression = suppression  # SARIF's kind: "inSource" (an annotation) or "external" (.sealer.yaml)

    def __repr__(self) -> str:
        return f"Finding({self.path}:{self.line} {self.rule} {self.level} {self.message!r})"

    @classmethod
    def of(cls, rule: str, path: str, line: int, message: str, *, suppressed: str | None = None) -> Finding:
        return cls(path, line, rule, message, RULES[rule].level, suppressed)
