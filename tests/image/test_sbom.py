"""deploy/sbom.py's pure parts, without an image: the dpkg status parser and the SPDX document.
(The SBOM of the real image is checked against the image in test_image.py.)"""

from __future__ import annotations

import datetime
import importlib.util
import json

from tests.peers import REPO

_spec = importlib.util.spec_from_file_location("deploy_sbom", REPO / "deploy" / "sbom.py")
sbom = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sbom)

STATUS = """\
Package: python3
Status: install ok installed
Priority: optional
Architecture: amd64
Source: python3-defaults
Version: 3.11.2-1+b1
Description: interactive high-level object-oriented language
 Python, the high-level, interactive object oriented language,
 Package: not-a-package
 .
 Version: 9

Package: removed-but-configured
Status: deinstall ok config-files
Architecture: all
Version: 1.0

Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u14
Conffiles:
 /etc/ld.so.conf.d/x86_64-linux-gnu.conf d4e7a7b88a71b5ffd9e2644e71a0cfab
"""


def test_dpkg_status_lists_installed_packages_only():
    pkgs = sbom.dpkg_packages(STATUS)
    assert [(p["Package"], p["Version"]) for p in pkgs] == [("libc6", "2.36-9+deb12u14"), ("python3", "3.11.2-1+b1")]
    assert pkgs[1]["Source"] == "python3-defaults"


def test_document_is_spdx_with_purls():
    debs = sbom.dpkg_packages(STATUS)
    doc = sbom.document(
        debs,
        [("cryptography", "46.0.1", "Apache-2.0 OR BSD-3-Clause"), ("PyYAML", "6.0.2", "")],
        {"ID": "debian", "VERSION_ID": "12"},
        "0.1.0",
        datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    )
    json.dumps(doc)  # serializable
    assert doc["creationInfo"]["created"] == "2026-01-02T03:04:05Z"
    refs = {p["name"]: p["externalRefs"][0]["referenceLocator"] for p in doc["packages"]}
    # '+' and ':' are percent-encoded in purl versions.
    assert refs["python3"] == "pkg:deb/debian/python3@3.11.2-1%2Bb1?arch=amd64&distro=debian-12"
    assert refs["PyYAML"] == "pkg:pypi/pyyaml@6.0.2"
    assert refs["sealer-controller"] == "pkg:oci/sealer-controller@0.1.0"
    ids = [p["SPDXID"] for p in doc["packages"]]
    assert len(ids) == len(set(ids)) and all(i.startswith("SPDXRef-") for i in ids)
    crypto = next(p for p in doc["packages"] if p["name"] == "cryptography")
    assert crypto["licenseDeclared"] == "Apache-2.0 OR BSD-3-Clause"
