"""Shamir's secret sharing over GF(2^8), byte by byte: any ``threshold`` of ``count`` shares give
the secret back, fewer give no information about it (each byte of a share set smaller than the
threshold is consistent with every possible byte of the secret, equally often).

A share is ``(x, y)``: ``x`` in 1..255 (0 is where the secret sits), ``y`` as long as the secret,
``y[i] = f_i(x)`` for a random polynomial ``f_i`` of degree ``threshold - 1`` with ``f_i(0) =
secret[i]``. The field is GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1 (0x11b), the
one every Shamir implementation over bytes uses. With ``threshold`` 1 every share is the secret.

No well-kept library of our allowed dependencies does this, and it is small: log/exp tables for
the field, one polynomial per byte, Lagrange interpolation at 0 to combine.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

MAX_SHARES = 255


class ShareError(ValueError):
    """Shares that cannot give a secret: too few, duplicated, of different lengths, or out of range."""


def _tables() -> tuple[list[int], list[int]]:
    exp, log = [0] * 510, [0] * 256
    value = 1
    for power in range(255):
        exp[power] = value
        log[value] = power
        value ^= (value << 1) ^ (0x11B if value & 0x80 else 0)  # times 3, the field's generator
        value &= 0xFF
    for power in range(255, 510):  # so that exp[log a + log b] needs no modulo
        exp[power] = exp[power - 255]
    return exp, log


_EXP, _LOG = _tables()


def mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return _EXP[_LOG[a] + _LOG[b]]


def div(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("division by zero in GF(256)")
    if a == 0:
        return 0
    return _EXP[_LOG[a] + 255 - _LOG[b]]


def evaluate(coefficients: Sequence[int], x: int) -> int:
    """The polynomial with these coefficients (constant first) at ``x`` (Horner's rule)."""
    result = 0
    for c in reversed(coefficients):
        result = mul(result, x) ^ c
    return result


def split(secret: bytes, threshold: int, count: int) -> list[tuple[int, bytes]]:
    """``count`` shares of ``secret``, any ``threshold`` of which give it back (x = 1..count)."""
    if not 1 <= threshold <= count <= MAX_SHARES:
        raise ShareError(f"need 1 <= threshold ({threshold}) <= shares ({count}) <= {MAX_SHARES}")
    random = secrets.token_bytes(len(secret) * (threshold - 1))
    ys = [bytearray(len(secret)) for _ in range(count)]
    for i, byte in enumerate(secret):
        coefficients = [byte, *random[i * (threshold - 1) : (i + 1) * (threshold - 1)]]
        for share, y in enumerate(ys):
            y[i] = evaluate(coefficients, share + 1)
    return [(x + 1, bytes(y)) for x, y in enumerate(ys)]


def combine(shares: Sequence[tuple[int, bytes]], threshold: int) -> bytes:
    """The secret from at least ``threshold`` distinct shares. Fewer are refused: they do not
    determine it (any secret at all is consistent with them)."""
    distinct = dict(shares)
    if len(distinct) != len(shares):
        raise ShareError("two shares with the same x")
    if threshold < 1 or len(distinct) < threshold:
        raise ShareError(f"{len(distinct)} share(s) given, {threshold} needed")
    if any(not 1 <= x <= MAX_SHARES for x in distinct):
        raise ShareError("a share's x is out of range (1..255)")
    used = sorted(distinct.items())[:threshold]  # any threshold of them lie on the same polynomial
    lengths = {len(y) for _, y in used}
    if len(lengths) != 1:
        raise ShareError("shares of different lengths")
    # Lagrange basis at 0: l_j(0) = prod_{m != j} x_m / (x_m - x_j); minus is xor in GF(2^8).
    weights = []
    for j, (xj, _) in enumerate(used):
        weight = 1
        for m, (xm, _) in enumerate(used):
            if m != j:
                weight = mul(weight, div(xm, xm ^ xj))
        weights.append(weight)
    secret = bytearray(lengths.pop())
    for weight, (_, y) in zip(weights, used, strict=True):
        if weight == 1:
            for i, byte in enumerate(y):
                secret[i] ^= byte
            continue
        log_w = _LOG[weight]
        for i, byte in enumerate(y):
            if byte:
                secret[i] ^= _EXP[_LOG[byte] + log_w]
    return bytes(secret)
