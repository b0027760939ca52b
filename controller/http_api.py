"""The controller's HTTP API, as kubeseal calls it through the API server's service proxy:

  GET  /v1/cert.pem   the newest certificate (what `sealer seal` / `kubeseal` fetch)
  POST /v1/verify     200 if every SealedSecret in the body opens, 409 if one does not
  POST /v1/rotate     the SealedSecret re-sealed for the newest key (template untouched)
  GET  /healthz       liveness;  GET /readyz  readiness (keys loaded, watches synced)

No plaintext ever leaves: verify answers yes/no, rotate answers ciphertext. What a request may
cost is capped here (body, documents, items; rate per client) before any key is tried; the
connection-level limits are controller.http_server's. docs/security.md says why each value."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from controller.forwarded import TrustedProxies
from controller.http_server import MAX_BODY, TEXT, Response
from controller.metrics import Metrics
from controller.ratelimit import RateLimiter
from keys.registry import KeyRegistry
from sealer.core import crypto, manifests
from sealer.core.errors import InputError, SealerError
from sealer.core.scope import KEY_HINT_ANNOTATION
from sealer.core.sealing import check_sealed_secret
from sealer.core.unsealing import Target, open_items

log = logging.getLogger(__name__)

# What one SealedSecret can be, derived from what one Secret can be (docs/security.md):
# the API server refuses Secrets whose data exceed 1 MiB; sealing a value of p bytes gives
# 2 + k + p + 16 bytes (k: the wrapped session key, at most 1024 bytes for the largest RSA key a
# sealed value may name) in base64 (4/3); metadata.annotations and spec.template.metadata.annotations
# may hold 256 KiB each. That is 1,923,780 bytes (1,925,236 for a post-quantum value, whose tag
# and ML-KEM ciphertext add 1092 bytes); the rest of the object (names, labels, framing) gets what
# is left of 2 MiB. Anything larger cannot be one SealedSecret of a valid Secret.
SECRET_DATA_LIMIT = 1024 * 1024
ANNOTATIONS_LIMIT = 256 * 1024
LARGEST_WRAPPED_KEY = 1024
HYBRID_OVERHEAD = len(crypto.HYBRID_TAG) + crypto.MLKEM768_CIPHERTEXT_BYTES
LARGEST_SEALED_SECRET = (
    4 * -(-(HYBRID_OVERHEAD + 2 + LARGEST_WRAPPED_KEY + SECRET_DATA_LIMIT + 16) // 3) + 2 * ANNOTATIONS_LIMIT
)
# Each item costs a private-key operation (~2 ms at 4096 bits); a stream of SealedSecrets shares
# one body and one item budget.
MAX_ITEMS = 256
MAX_DOCUMENTS = 16
EXPENSIVE = ("/v1/verify", "/v1/rotate")


@dataclass(frozen=True)
class RequestLimits:
    max_body: int = MAX_BODY
    max_items: int = MAX_ITEMS
    max_documents: int = MAX_DOCUMENTS


def parse_listen_addr(addr: str) -> tuple[str, int]:
    """``host:port`` or ``:port`` (all interfaces), as Go's net.Listen takes it."""
    host, sep, port = addr.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f'invalid listen address "{addr}": expected host:port or :port')
    return host.strip("[]") or "0.0.0.0", int(port)


class TooLarge(InputError):
    """A well-formed request beyond the caps: refused before any private-key operation."""


def sealed_secrets(body: bytes, limits: RequestLimits = RequestLimits()) -> list[dict[str, Any]]:
    """The SealedSecrets of a request body, within the caps (checked before anything is opened)."""
    if len(body) > limits.max_body:
        raise TooLarge(f"request body is larger than {limits.max_body} bytes")
    docs = manifests.parse_stream(body, "request body")
    if not docs:
        raise InputError("no SealedSecret in the request body")
    if len(docs) > limits.max_documents:
        raise TooLarge(f"{len(docs)} documents in one request, at most {limits.max_documents}")
    sealed = [check_sealed_secret(d.body, d.index) for d in docs]
    items = sum(len(s["spec"]["encryptedData"]) for s in sealed)
    if items > limits.max_items:
        raise TooLarge(f"{items} items in one request, at most {limits.max_items}")
    return sealed


def reseal(sealed: dict[str, Any], registry: KeyRegistry) -> dict[str, Any]:
    """The same SealedSecret with every item opened and sealed again for the newest key."""
    newest = registry.newest
    if newest is None:
        raise SealerError("no keys")
    items = open_items(sealed, registry, fail_fast=True)
    target = Target.of(sealed)
    public = newest.private_key.public_key()
    # The format is kept: a post-quantum SealedSecret must not come back classic (harvestable),
    # nor a classic one post-quantum (which Bitnami's controller could no longer open).
    pq = any(crypto.is_hybrid(crypto.decode(v)) for v in sealed["spec"]["encryptedData"].values())
    if pq and newest.mlkem_key is None:
        raise SealerError(
            "sealed in the post-quantum format, but the newest key has no ML-KEM-768 key "
            "(run the controller with --pq-keys)"
        )

    kem_public = newest.mlkem_key.public_key() if pq and newest.mlkem_key is not None else None

    def seal(value: bytes) -> str:
        if kem_public is not None:
            return crypto.encode(crypto.seal_hybrid(public, kem_public, value, target.label))
        return crypto.encode(crypto.seal(public, value, target.label))

    out = copy.deepcopy(sealed)
    out["spec"]["encryptedData"] = {k: seal(v) for k, v in sorted(items.items())}
    out["metadata"].setdefault("annotations", {})[KEY_HINT_ANNOTATION] = newest.fingerprint
    for server_field in (
        "creationTimestamp",
        "deletionTimestamp",
        "generation",
        "resourceVersion",
        "uid",
        "managedFields",
    ):
        out["metadata"].pop(server_field, None)
    out.pop("status", None)
    return out


def _one_line(e: Exception) -> bytes:
    return (" ".join(str(e).split()) + "\n").encode()


class Api:
    def __init__(
        self,
        registry: KeyRegistry,
        metrics: Metrics,
        ready: Callable[[], bool],
        *,
        rate: float = 2,
        burst: int = 2,
        limits: RequestLimits = RequestLimits(),
        proxies: TrustedProxies = TrustedProxies(),
    ):
        self.registry, self.metrics, self.ready = registry, metrics, ready
        self.limiter = RateLimiter(rate, burst)
        self.limits, self.proxies = limits, proxies

    @staticmethod
    def expensive(method: str, path: str) -> bool:
        """Requests that cost private-key operations: bounded in number, run off the I/O loop."""
        return method == "POST" and path in EXPENSIVE

    def client(self, peer: str, forwarded_for: Sequence[str] = ()) -> str:
        return self.proxies.client(peer, forwarded_for)

    def admit(self, method: str, path: str, client: str) -> Response | None:
        """The answer a request gets before its body is read (None: read it and go on)."""
        if path in EXPENSIVE:
            if method != "POST":
                return 405, TEXT, b"use POST\n", {"Allow": "POST"}
            allowed, wait = self.limiter.allow(f"{path} {client}")
            if not allowed:
                return 429, TEXT, b"limit exceeded\n", {"Retry-After": str(max(1, round(wait)))}
        return None

    def handle(self, method: str, path: str, body: bytes, client: str) -> Response:
        """(status, content type, body, extra headers) for one request. Pure of sockets, for tests."""
        return self.admit(method, path, client) or self.process(method, path, body)

    def process(self, method: str, path: str, body: bytes) -> Response:
        if path == "/healthz":
            return 200, TEXT, b"ok\n", {}
        if path == "/readyz":
            ok = self.ready()
            return (200 if ok else 503), TEXT, b"ok\n" if ok else b"not ready\n", {}
        if path == "/v1/cert.pem":
            try:
                return 200, "application/x-pem-file", self.registry.sealing_certificate_pem(), {}
            except LookupError:
                return 500, TEXT, b"cannot get certificate\n", {}
        if path in EXPENSIVE:
            try:
                docs = sealed_secrets(body, self.limits)
            except TooLarge as e:
                return 413, TEXT, _one_line(e), {}
            except SealerError as e:
                return 400, TEXT, _one_line(e), {}
            if path == "/v1/verify":
                # Yes or no, nothing else: the first item that does not open ends it.
                try:
                    for doc in docs:
                        open_items(doc, self.registry, fail_fast=True)
                except SealerError:
                    return 409, TEXT, b"", {}
                return 200, TEXT, b"", {}
            try:
                resealed = [reseal(doc, self.registry) for doc in docs]
            except SealerError as e:
                log.info("rotate: cannot re-seal: %s", " ".join(str(e).split()))
                return 409, TEXT, _one_line(e), {}
            payload = resealed[0] if len(resealed) == 1 else {"apiVersion": "v1", "kind": "List", "items": resealed}
            return 200, "application/json", json.dumps(payload).encode(), {}
        return 404, TEXT, b"not found\n", {}
