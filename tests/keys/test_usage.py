"""keys.usage, keys.opened_by, sealer.core.certmap and `sealer keys usage` offline: what is sealed
for which key, from trial with local keys, the controller's record, or the key hint."""

from __future__ import annotations

import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from keys.errors import KeyStoreError
from keys.opened_by import key_id, opened_by, resolve
from keys.usage import Findings, KnownKey, attribute, borrow_records, find_key, report
from sealer.core import certmap, crypto
from sealer.core.certs import parse_certificate
from sealer.core.errors import CertificateError
from sealer.core.keyset import KeySet
from sealer.core.sealing import Sealer


def secret(name: str, ns: str = "apps", **values: str) -> dict:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns}, "stringData": values}


def fp(key) -> str:
    return crypto.fingerprint(key.private_key.public_key())


def sealed_for(key, name: str, *, hint: bool = True, **values: str) -> dict:
    return Sealer(parse_certificate(key.cert_pem), record_key_hint=hint).seal_secret(secret(name, **values))


def with_record(sealed: dict, kids: list[str], generation: int = 1, observed: int = 1) -> dict:
    sealed = json.loads(json.dumps(sealed))
    sealed["metadata"]["generation"] = generation
    message = f"Secret verified at resourceVersion 12; record v1 keys={','.join(kids)} state=abc check=def"
    sealed["status"] = {
        "observedGeneration": observed,
        "conditions": [{"type": "SecretInSync", "status": "True", "reason": "Recorded", "message": message}],
    }
    return sealed


# --- the record --------------------------------------------------------------------------------


def test_opened_by_reads_the_controllers_record(test_key):
    kid = key_id(fp(test_key))
    assert len(kid) == 12 and fp(test_key).startswith("SHA256:" + kid)
    got = opened_by(with_record(sealed_for(test_key, "db", password="p"), [kid]))
    assert got is not None and got.key_ids == (kid,) and got.in_sync and got.current
    # A spec changed since the record: the record no longer speaks for it.
    stale = opened_by(with_record(sealed_for(test_key, "db", password="p"), [kid], generation=2, observed=1))
    assert stale is not None and not stale.current
    assert opened_by(sealed_for(test_key, "db", password="p")) is None
    assert resolve([kid, "nothere00000"], [fp(test_key)]) == {kid: fp(test_key), "nothere00000": None}


def test_controller_record_and_reader_agree(test_key):
    """The controller writes what keys.opened_by reads (one format, in one place)."""
    from controller import record

    made = record.Record(True, "7", (key_id(fp(test_key)),), "s", "c")
    sealed = sealed_for(test_key, "db", password="p")
    sealed["status"] = {
        "conditions": [dict(zip(("type", "status", "reason", "message"), made.condition(), strict=True))]
    }
    sealed["status"]["conditions"][0]["status"] = "True"
    assert opened_by(sealed).key_ids == made.keys
    assert record.parse(sealed["status"]) == made


# --- attribution and the report ----------------------------------------------------------------


def test_trial_beats_hint_and_is_per_item(test_key, other_key):
    keyset = KeySet([other_key.private_key])
    sealed = sealed_for(test_key, "db", password="p")  # hint: test_key
    found = attribute(sealed, "f.yaml#1", keyset=keyset)
    assert [(u.how, u.keys) for u in found.uses] == [("hint", (fp(test_key),))]
    found = attribute(sealed, "f.yaml#1", keyset=KeySet([test_key.private_key]))
    assert [(u.how, u.keys, u.items) for u in found.uses] == [("trial", (fp(test_key),), ("password",))]


def test_unattributed_blocks_every_retirement(test_key, other_key):
    found = Findings()
    found.extend(attribute(sealed_for(test_key, "a", x="1"), "a.yaml#1"))
    found.extend(attribute(sealed_for(other_key, "b", hint=False, y="2"), "b.yaml#1"))
    assert [u.name for u in found.unattributed] == ["b"]
    known = [KnownKey(fp(test_key), status="active"), KnownKey(fp(other_key), status="active")]
    rows = {r["fingerprint"]: r for r in report(known, found)["keys"]}
    assert rows[fp(test_key)]["items"] == 1 and not rows[fp(test_key)]["retirable"]
    assert not rows[fp(other_key)]["retirable"] and "could not be attributed" in rows[fp(other_key)]["why"]


def test_record_attribution_and_retirable(test_key, other_key):
    found = attribute(with_record(sealed_for(test_key, "a", x="1"), [key_id(fp(test_key))]), "cluster", use_record=True)
    known = [KnownKey(fp(test_key), status="active"), KnownKey(fp(other_key), status="active", sealing=True)]
    rows = {r["fingerprint"]: r for r in report(known, found)["keys"]}
    assert rows[fp(test_key)]["sealedSecrets"] == [
        {"source": "cluster", "namespace": "apps", "name": "a", "items": ["x"], "how": "record", "exact": True}
    ]
    assert rows[fp(other_key)]["retirable"] is False and "sealing key" in rows[fp(other_key)]["why"]
    found = attribute(
        with_record(sealed_for(test_key, "a", x="1"), [key_id(fp(other_key))]), "cluster", use_record=True
    )
    rows = {r["fingerprint"]: r for r in report(known, found)["keys"]}
    assert rows[fp(test_key)]["retirable"] is True  # the record, not the hint, speaks for a cluster's object


def test_a_kubeseal_file_borrows_the_record_of_its_identical_cluster_object(test_key):
    file_doc = sealed_for(test_key, "a", hint=False, x="1")  # as kubeseal seals: no hint
    in_files = attribute(file_doc, "a.yaml#1")
    assert len(in_files.unattributed) == 1
    live = with_record(file_doc, [key_id(fp(test_key))])
    cluster = attribute(live, "cluster", use_record=True)
    resealed = sealed_for(test_key, "a", hint=False, x="1")  # same name, other ciphertext: not borrowed
    other = attribute(resealed, "a.yaml#1")
    borrow_records(other, {"a.yaml#1": resealed}, [live], cluster)
    assert other.uses == [] and len(other.unattributed) == 1
    borrow_records(in_files, {"a.yaml#1": file_doc}, [live], cluster)
    assert in_files.unattributed == []
    assert [(u.source, u.keys, u.how) for u in in_files.uses] == [("a.yaml#1", (key_id(fp(test_key)),), "record")]


def test_find_key_prefixes_and_errors():
    fps = ["SHA256:abcdef111", "SHA256:abcxyz222", "SHA256:zzz"]
    assert find_key("SHA256:zzz", fps, "ns") == "SHA256:zzz"
    assert find_key("abcd", fps, "ns") == "SHA256:abcdef111"
    with pytest.raises(KeyStoreError, match=r"^no key SHA256:nope in ns "):
        find_key("SHA256:nope", fps, "ns")
    with pytest.raises(KeyStoreError, match=r"^abc is ambiguous in ns: it begins SHA256:abcdef111, SHA256:abcxyz222"):
        find_key("abc", fps, "ns")


# --- the certificate ConfigMap -------------------------------------------------------------------

_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=20)


@given(
    st.lists(
        st.builds(
            certmap.PublishedKey,
            fingerprint=_text,
            keyId=_text,
            name=_text,
            notBefore=_text,
            notAfter=_text,
            status=_text,
            sealing=st.booleans(),
            certificate=_text,
            retiredAt=st.none() | _text,
        ),
        max_size=5,
    )
)
def test_certmap_round_trip_is_canonical(keys):
    data = certmap.configmap_data(b"-----BEGIN CERTIFICATE-----\n", keys)
    back = certmap.published_keys({"data": data}, "cm")
    assert sorted(back, key=repr) == sorted(keys, key=repr)
    assert certmap.configmap_data(b"-----BEGIN CERTIFICATE-----\n", list(reversed(keys))) == data  # no rewrite


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({}, "cm: no data"),
        ({"data": {"keys.json": "{"}}, "cm: field data.keys.json is not JSON"),
        ({"data": {"keys.json": "[1]"}}, r"cm: field data.keys.json\[0\] is not an object"),
        ({"data": {"keys.json": '[{"fingerprint": "x"}]'}}, r"cm: field data.keys.json\[0\].keyId is missing"),
        ({"data": {"keys.json": "x" * (certmap.MAX_BYTES + 1)}}, "larger than"),
    ],
)
def test_certmap_bad_input_is_one_line(doc, message):
    with pytest.raises(CertificateError, match=message):
        certmap.published_keys(doc, "cm")


def test_certmap_without_certificate():
    with pytest.raises(CertificateError, match=r"^cm: field data.cert.pem holds no PEM certificate$"):
        certmap.sealing_certificate({"data": {"cert.pem": "nope"}}, "cm")


# --- `sealer keys usage PATH...` ------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path, test_key, other_key):
    (tmp_path / "repo" / "apps").mkdir(parents=True)
    a = sealed_for(test_key, "a", password="p", user="u")
    b = sealed_for(other_key, "b", hint=False, token="t")
    (tmp_path / "repo" / "apps" / "a.yaml").write_text(yaml.safe_dump(a))
    other = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    (tmp_path / "repo" / "apps" / "b.yaml").write_text(yaml.safe_dump_all([other, b]))
    (tmp_path / "repo" / "README.md").write_text("not a manifest")
    return tmp_path / "repo"


def test_usage_offline_by_hint_and_trial(cli, repo, test_key, other_key):
    result = cli("keys", "usage", str(repo), "-o", "json")
    assert result.status == 0, result.err
    out = json.loads(result.out)
    assert [u["name"] for u in out["unattributed"]] == ["b"]
    (row,) = [k for k in out["keys"] if k["fingerprint"] == fp(test_key)]
    assert row["sealedSecrets"][0]["how"] == "hint" and row["items"] == 2 and not row["retirable"]

    result = cli("keys", "usage", str(repo), "--recovery-private-key", str(other_key.key_path), "-o", "json")
    out = json.loads(result.out)
    assert out["unattributed"] == []
    rows = {k["fingerprint"]: k for k in out["keys"]}
    assert rows[fp(other_key)]["sealedSecrets"] == [
        {
            "source": f"{repo}/apps/b.yaml#2",
            "namespace": "apps",
            "name": "b",
            "items": ["token"],
            "how": "trial",
            "exact": True,
        }
    ]
    assert rows[fp(other_key)]["status"] == "" and not rows[fp(other_key)]["retirable"]
    assert rows[fp(test_key)]["status"] == "unknown"  # named by a hint only

    table = cli("keys", "usage", str(repo), "--recovery-private-key", str(other_key.key_path))
    assert table.status == 0 and "RETIRABLE" in table.out and f"{repo}/apps/b.yaml#2 (b): token [trial]" in table.out
    assert "p" not in {line.split()[-1] for line in table.out.splitlines()}  # no value anywhere


def test_usage_offline_bad_input_is_one_line(cli, repo, tmp_path):
    missing = cli("keys", "usage", str(tmp_path / "nope"))
    assert missing.status == 1 and missing.err == f"error: {tmp_path / 'nope'}: no such file or directory\n"
    (repo / "apps" / "broken.yaml").write_text("kind: SealedSecret\nmetadata: {name: x}\nspec: {encryptedData: 3}\n")
    broken = cli("keys", "usage", str(repo))
    assert broken.status == 1 and broken.err.count("\n") == 1
    assert f"{repo}/apps/broken.yaml, document 1, field spec.encryptedData" in broken.err
