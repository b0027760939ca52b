"""controller.escrow.plan: what each key's escrow object needs (pure)."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from controller.escrow import plan
from keys import escrow
from keys.escrow_recipients import Recipients, parse_recipient
from keys.generate import self_signed_certificate
from keys.keypair import KeyPair
from keys.secret_format import StoredKey

NOW = dt.datetime.now(dt.UTC)


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def world():
    recipients = []
    for i in range(3):
        k = _rsa()
        pem = self_signed_certificate(k, not_before=NOW - dt.timedelta(hours=1), ttl=dt.timedelta(days=1), cn="")
        recipients.append(parse_recipient(pem.public_bytes(serialization.Encoding.PEM), f"r{i}", NOW))
    keys = []
    for name in ("k-aaaaa", "k-bbbbb"):
        k = _rsa()
        keys.append(
            StoredKey(name, KeyPair.of(k, self_signed_certificate(k, not_before=NOW, ttl=dt.timedelta(days=1), cn="")))
        )
    return recipients, keys


def test_missing_current_changed_and_foreign_objects(world):
    recipients, (a, b) = world
    two = Recipients(tuple(recipients[:2]), 1, (), True)
    existing = {escrow.escrow_name(a.name): escrow.build(a, recipients[:2], 1, "ns")}
    steps = {s.key.name: s for s in plan([a, b], two, existing)}
    assert steps[a.name].action == "none"
    assert steps[b.name].action == "create"
    # A recipient is added: every existing key's object is rewritten (once: then it is current).
    three = Recipients(tuple(recipients), 1, (), True)
    (step,) = plan([a], three, existing)
    assert step.action == "replace" and step.existing is existing[escrow.escrow_name(a.name)]
    # Another threshold: rewritten too.
    assert plan([a], Recipients(tuple(recipients[:2]), 2, (), True), existing)[0].action == "replace"
    # An object of the same name that holds another key is never overwritten.
    foreign = {escrow.escrow_name(b.name): escrow.build(a, recipients[:2], 1, "ns")}
    foreign[escrow.escrow_name(b.name)]["metadata"]["name"] = escrow.escrow_name(b.name)
    (step,) = plan([b], two, foreign)
    assert step.action == "blocked" and "holds another key" in step.why
    # One whose certificate is not the key's is rewritten (its fingerprint field alone proves nothing).
    swapped = {escrow.escrow_name(a.name): escrow.build(a, recipients[:2], 1, "ns")}
    swapped[escrow.escrow_name(a.name)]["data"]["key.crt"] = b.pair.cert_pem.decode()
    assert plan([a], two, swapped)[0].action == "replace"
    # A malformed one is rewritten.
    broken = {escrow.escrow_name(a.name): {"kind": "ConfigMap", "data": {"format": "x"}}}
    assert plan([a], two, broken)[0].action == "replace"


def test_no_usable_recipients_blocks_every_key(world):
    recipients, keys = world
    for unusable in (Recipients((), 1, (), True), Recipients(tuple(recipients), None, ("bad",), True),
                     Recipients(tuple(recipients[:1]), 2, (), True)):  # fmt: skip
        assert [s.action for s in plan(keys, unusable, {})] == ["blocked", "blocked"]
