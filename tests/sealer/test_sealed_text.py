"""Property tests of the surgical edits `sealer reencrypt` makes (sealer.core.sealed_text and
sealer.core.reencrypting): whatever the file's layout (YAML or JSON, comments, quoting, key order,
several documents, Lists), re-encrypting changes only the sealed values and the key hint, every
other byte stays, and the new values open to the old plaintexts."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealer.core import crypto, manifests
from sealer.core.certs import parse_certificate
from sealer.core.errors import InputError
from sealer.core.keyset import KeySet
from sealer.core.reencrypting import plan
from sealer.core.scope import KEY_HINT_ANNOTATION, Scope
from sealer.core.sealed_text import locate, replace
from sealer.core.unsealing import open_items

ITEM_KEYS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=12).filter(
    lambda k: k[0].isalpha() and k not in ("y", "n", "yes", "no", "on", "off", "true", "false", "null")
)
PLAINTEXTS = st.binary(min_size=0, max_size=64)
COMMENTS = st.sampled_from(["", "  # sealed", "  # héllo: 'quotes' \"and\" {braces}", "\t# tab"])
STYLES = st.sampled_from(["plain", "double", "single"])


def quoted(value: str, style: str) -> str:
    return {"plain": value, "double": f'"{value}"', "single": f"'{value}'"}[style]


@st.composite
def sealed_files(draw, sealer, names):
    """(text, plaintexts by (name, item)): a file of SealedSecrets in a layout drawn at random."""
    fmt = draw(st.sampled_from(["yaml", "json", "yaml-list", "json-list"]))
    scope = draw(st.sampled_from(list(Scope)))
    docs, plaintexts = [], {}
    for name in draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True)):
        items = draw(st.dictionaries(ITEM_KEYS, PLAINTEXTS, min_size=1, max_size=4))
        ns = "" if scope is Scope.CLUSTER_WIDE else "team"
        sealed = {k: sealer.seal_value(v, scope, ns, name) for k, v in items.items()}
        plaintexts.update({(name, k): v for k, v in items.items()})
        docs.append((name, ns, scope, sealed))
    if fmt.startswith("json"):
        objects = [_object(sealer, *doc) for doc in docs]
        indent = draw(st.sampled_from([None, 2, 4]))
        if fmt == "json-list":
            return json.dumps({"apiVersion": "v1", "kind": "List", "items": objects}, indent=indent) + "\n", plaintexts
        return "".join(json.dumps(o, indent=indent) + "\n" for o in objects), plaintexts
    parts = []
    for name, ns, doc_scope, sealed in docs:
        parts.append(_yaml(draw, sealer, name, ns, doc_scope, sealed, "  " if fmt == "yaml-list" else ""))
    if fmt == "yaml-list":
        return "apiVersion: v1\nkind: List\nitems:\n" + "".join(parts), plaintexts
    between = draw(
        st.sampled_from(["---\n", "---\n# next\n", "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"])
    )
    return draw(st.sampled_from(["", "---\n", "# top\n"])) + between.join(parts), plaintexts


def _object(sealer, name, ns, scope, sealed):
    meta = {"name": name, "annotations": {**scope.annotations(), KEY_HINT_ANNOTATION: sealer.certificate.fingerprint}}
    if ns:
        meta["namespace"] = ns
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": meta,
        "spec": {"encryptedData": sealed, "template": {"metadata": {"name": name}, "data": {"x": "{{ .a }}"}}},
    }


def _yaml(draw, sealer, name, ns, scope, sealed, indent):
    """One SealedSecret as YAML a person might have edited: comments, quoting, top-level order."""
    first = "- " if indent else ""
    hint = quoted(sealer.certificate.fingerprint, draw(st.sampled_from(["plain", "double", "single"])))
    annotations = "".join(f'    {k}: "{v}"\n' for k, v in scope.annotations().items())
    meta = f"metadata:\n  name: {name}\n" + (f"  namespace: {ns}\n" if ns else "")
    meta += f"  annotations:{draw(COMMENTS)}\n{annotations}    {KEY_HINT_ANNOTATION}: {hint}{draw(COMMENTS)}\n"
    items = "".join(f"    {k}: {quoted(v, draw(STYLES))}{draw(COMMENTS)}\n" for k, v in sealed.items())
    spec = f"spec:{draw(COMMENTS)}\n  template:\n    data:\n      x: '{{{{ .a }}}}'\n  encryptedData:\n{items}"
    blocks = draw(st.permutations([meta, spec, "kind: SealedSecret\n", "apiVersion: bitnami.com/v1alpha1\n"]))
    text = "".join(blocks)
    if indent:
        lines = text.splitlines(keepends=True)
        text = first + lines[0] + "".join(indent + line for line in lines[1:])
    return text


@pytest.fixture(scope="module")
def keys(test_key, other_key):
    """(a sealer for the old key, classic and hybrid; the target, with an ML-KEM key; every key;
    the target's keys only)."""
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import mlkem

    from keys.keypair import KeyPair
    from sealer.core.sealing import Sealer

    old = KeyPair.of(
        test_key.private_key, x509.load_pem_x509_certificate(test_key.cert_pem), mlkem.MLKEM768PrivateKey.generate()
    )
    new = KeyPair.of(
        other_key.private_key, x509.load_pem_x509_certificate(other_key.cert_pem), mlkem.MLKEM768PrivateKey.generate()
    )
    old_cert, target = parse_certificate(old.published_pem()), parse_certificate(new.published_pem())
    both, target_only = KeySet(), KeySet()
    for pair in (old, new):
        both.add(pair.private_key, pair.mlkem_key)
    target_only.add(new.private_key, new.mlkem_key)
    return {False: Sealer(old_cert), True: Sealer(old_cert, pq=True)}, target, both, target_only


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), hybrid=st.booleans(), to_pq=st.booleans())
def test_reencrypt_keeps_every_other_byte_and_round_trips(keys, data, hybrid, to_pq):
    sealers, target, both, target_only = keys
    old_sealer = sealers[hybrid]
    text, plaintexts = data.draw(sealed_files(old_sealer, ["db", "web", "api"]))
    found = locate(text, "f")
    # locate reads exactly what parse_stream reads.
    bodies = []
    for doc in manifests.parse_stream(text, "f"):
        bodies.extend(b for b in doc.body.get("items", [doc.body]) if b.get("kind") == "SealedSecret")
    assert [f.body for f in found] == bodies
    edits, back = [], {}
    for f in found:
        p = plan(f.body, both, target, pq=to_pq)
        assert set(p.moved) == set(f.body["spec"]["encryptedData"])  # all sealed for the old key
        # Hybrid stays hybrid; a pq target makes every moved value hybrid.
        assert all(crypto.is_hybrid(crypto.decode(v)) == (hybrid or to_pq) for v in p.moved.values())
        for key, value in p.moved.items():
            edits.append((f.items[key], value))
            back[value] = f.body["spec"]["encryptedData"][key]
        assert f.hint is not None and p.hint == target.fingerprint
        edits.append((f.hint, p.hint))
    new_text = replace(text, edits)
    # Every byte but the values and hints is kept: putting the old ones back gives the old text.
    restored = new_text
    for new, old in back.items():
        restored = restored.replace(new, old)
    restored = restored.replace(target.fingerprint, old_sealer.certificate.fingerprint)
    assert restored == text
    # The new values open with the target's key alone, to the old plaintexts, in the old scopes.
    for f in locate(new_text, "f"):
        name = f.body["metadata"]["name"]
        assert f.body["metadata"]["annotations"][KEY_HINT_ANNOTATION] == target.fingerprint
        opened = open_items(f.body, target_only)
        assert opened == {k: plaintexts[(name, k)] for k in opened}
    # A second run moves nothing.
    assert all(not plan(f.body, both, target).moved for f in locate(new_text, "f"))


@given(st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_locate_never_crashes_on_junk(text):
    try:
        locate("kind: SealedSecret\n" + text, "f")
    except InputError:
        pass
