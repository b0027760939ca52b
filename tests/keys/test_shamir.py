"""Shamir's secret sharing over GF(256): field laws, any threshold of shares reconstruct, fewer are
refused and are consistent with every secret (they carry no information)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import shamir


@given(st.integers(0, 255), st.integers(0, 255), st.integers(1, 255))
def test_field_laws(a, b, c):
    assert shamir.mul(a, b) == shamir.mul(b, a)
    assert shamir.mul(a, 1) == a
    assert shamir.div(shamir.mul(a, c), c) == a
    assert shamir.mul(a, b ^ c) == shamir.mul(a, b) ^ shamir.mul(a, c)  # distributive over xor (addition)


def test_field_is_aes_gf256():
    # FIPS 197 section 4.2: {57} . {83} = {c1}.
    assert shamir.mul(0x57, 0x83) == 0xC1


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=0, max_size=64), st.data())
def test_any_threshold_shares_reconstruct(secret, data):
    count = data.draw(st.integers(1, 6), label="count")
    threshold = data.draw(st.integers(1, count), label="threshold")
    shares = shamir.split(secret, threshold, count)
    assert sorted(x for x, _ in shares) == list(range(1, count + 1))
    for subset in itertools.combinations(shares, threshold):
        order = data.draw(st.permutations(subset))
        assert shamir.combine(list(order), threshold) == secret
    # More than needed is fine too.
    assert shamir.combine(shares, threshold) == secret


@settings(max_examples=60, deadline=None)
@given(st.binary(min_size=1, max_size=32), st.binary(min_size=1, max_size=32), st.data())
def test_fewer_shares_are_refused_and_consistent_with_any_secret(secret, other, data):
    other = (other * len(secret))[: len(secret)]
    count = data.draw(st.integers(2, 6), label="count")
    threshold = data.draw(st.integers(2, count), label="threshold")
    shares = shamir.split(secret, threshold, count)
    few = data.draw(st.permutations(shares)).__getitem__(slice(threshold - 1))
    with pytest.raises(shamir.ShareError, match="needed"):
        shamir.combine(few, threshold)
    # threshold - 1 shares plus the point (0, other) fix a polynomial of the right degree whose
    # constant is `other`: the shares are as consistent with `other` as with the real secret.
    forged = _complete(few, other, threshold, next(x for x in range(1, 256) if x not in dict(few)))
    assert shamir.combine([*few, forged], threshold) == other


def _complete(few, secret, threshold, x):
    """The share at x of the polynomial through (0, secret) and ``few`` (Lagrange at x)."""
    points = [(0, secret), *few]
    y = bytearray(len(secret))
    for j, (xj, yj) in enumerate(points):
        weight = 1
        for m, (xm, _) in enumerate(points):
            if m != j:
                weight = shamir.mul(weight, shamir.div(x ^ xm, xj ^ xm))
        for i, byte in enumerate(yj):
            y[i] ^= shamir.mul(weight, byte)
    return x, bytes(y)


def test_threshold_one_shares_are_the_secret():
    assert shamir.split(b"abc", 1, 3) == [(1, b"abc"), (2, b"abc"), (3, b"abc")]


def test_bad_arguments_and_shares_are_refused():
    with pytest.raises(shamir.ShareError):
        shamir.split(b"x", 3, 2)
    with pytest.raises(shamir.ShareError):
        shamir.split(b"x", 0, 2)
    with pytest.raises(shamir.ShareError):
        shamir.split(b"x", 2, 256)
    shares = shamir.split(b"secret", 2, 3)
    with pytest.raises(shamir.ShareError, match="same x"):
        shamir.combine([shares[0], shares[0]], 2)
    with pytest.raises(shamir.ShareError, match="lengths"):
        shamir.combine([shares[0], (shares[1][0], shares[1][1] + b"!")], 2)
    with pytest.raises(shamir.ShareError, match="range"):
        shamir.combine([shares[0], (0, shares[1][1])], 2)
