"""The image's SBOM (SPDX 2.3 JSON on stdout): every installed Debian package and every Python
distribution of the running interpreter's environment, each with its exact version and purl.

Run by deploy/Dockerfile as the last step of the final stage, with /opt/sealer/bin/python, so it
sees the filesystem that ships. Standard library only (the image has nothing else to run it with).

    python -I deploy/sbom.py [--expect-version V] [--dpkg-status PATH] > sbom.spdx.json

(The source revision is the image's org.opencontainers.image.revision label, not in here: then a
new commit with unchanged code rebuilds no layer.)
"""

from __future__ import annotations

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import re
import sys
import uuid
from pathlib import Path
from urllib.parse import quote

SOURCE = "https://github.com/sealer-dev/sealer"
IMAGE = "sealer-controller"


def dpkg_packages(status_text: str) -> list[dict[str, str]]:
    """The installed packages of a dpkg status file: Package, Version, Architecture (+ Source)."""
    packages = []
    for stanza in re.split(r"\n\s*\n", status_text):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") or ":" not in line:
                continue  # continuation lines (descriptions, conffiles) are not needed
            key, _, value = line.partition(":")
            fields[key] = value.strip()
        if fields.get("Status", "").split()[-1:] == ["installed"] and "Package" in fields:
            packages.append(fields)
    return sorted(packages, key=lambda p: (p["Package"], p.get("Architecture", "")))


def os_release(path: Path = Path("/etc/os-release")) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key] = value.strip().strip('"')
    return values


def spdx_id(kind: str, name: str) -> str:
    return f"SPDXRef-{kind}-" + re.sub(r"[^A-Za-z0-9.-]+", "-", name)


def purl_deb(pkg: dict[str, str], distro: str, vendor: str) -> str:
    return (
        f"pkg:deb/{vendor}/{quote(pkg['Package'], safe='')}@{quote(pkg['Version'], safe='')}"
        f"?arch={pkg.get('Architecture', 'all')}&distro={distro}"
    )


def pypi_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package(spdxid: str, name: str, version: str, purl: str, **extra: str) -> dict:
    return {
        "SPDXID": spdxid,
        "name": name,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        **extra,
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}],
    }


def document(
    debs: list[dict[str, str]],
    dists: list[tuple[str, str, str]],
    release: dict[str, str],
    version: str,
    created: datetime.datetime,
) -> dict:
    """SPDX 2.3: the image, and every component it CONTAINS."""
    vendor = release.get("ID", "debian")
    distro = f"{vendor}-{release.get('VERSION_ID', 'unknown')}"
    image_id = spdx_id("Image", IMAGE)
    image = package(
        image_id,
        IMAGE,
        version,
        f"pkg:oci/{IMAGE}@{quote(version, safe='')}",
        downloadLocation=f"git+{SOURCE}",
        primaryPackagePurpose="CONTAINER",
    )
    components = [
        package(
            spdx_id("deb", f"{p['Package']}-{p.get('Architecture', '')}"),
            p["Package"],
            p["Version"],
            purl_deb(p, distro, vendor),
            **({"sourceInfo": f"Debian source package {p['Source']}"} if p.get("Source") else {}),
        )
        for p in debs
    ]
    components += [
        package(
            spdx_id("pypi", name),
            name,
            dist_version,
            f"pkg:pypi/{pypi_name(name)}@{dist_version}",
            **({"licenseDeclared": lic} if lic else {}),
        )
        for name, dist_version, lic in dists
    ]
    # The interpreter itself: a Debian package in a Debian base, built from source in python:*-slim.
    py = platform.python_version()
    components.append(
        package(
            spdx_id("Interpreter", "cpython"),
            "cpython",
            py,
            f"pkg:generic/cpython@{py}",
            comment=f"the interpreter, {os.path.realpath(sys.executable)}",
        )
    )
    return {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": f"{IMAGE}-{version}",
        "documentNamespace": f"{SOURCE}/spdx/{IMAGE}-{version}-{uuid.uuid4()}",
        "creationInfo": {
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "creators": ["Tool: sealer-deploy-sbom.py", "Organization: sealer"],
        },
        "documentDescribes": [image_id],
        "packages": [image, *components],
        "relationships": [
            {"spdxElementId": image_id, "relationshipType": "CONTAINS", "relatedSpdxElement": c["SPDXID"]}
            for c in components
        ],
    }


def distributions() -> list[tuple[str, str, str]]:
    """(name, version, SPDX licence expression or "") of every distribution on sys.path."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            found[pypi_name(name)] = (name, dist.version, dist.metadata.get("License-Expression") or "")
    return [found[k] for k in sorted(found)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--expect-version", default="", help="fail unless the installed sealer has this version")
    ap.add_argument("--dpkg-status", default="/var/lib/dpkg/status", type=Path)
    args = ap.parse_args(argv)
    dists = distributions()
    sealer = next((v for n, v, _ in dists if pypi_name(n) == "sealer"), None)
    if sealer is None:
        print("sbom: sealer is not installed in this environment", file=sys.stderr)
        return 1
    if args.expect_version and sealer != args.expect_version:
        print(
            f"sbom: VERSION is {args.expect_version} but the installed sealer is {sealer} "
            "(deploy/Dockerfile's ARG VERSION must follow sealer/_version.py)",
            file=sys.stderr,
        )
        return 1
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    created = (
        datetime.datetime.fromtimestamp(int(epoch), datetime.UTC) if epoch else datetime.datetime.now(datetime.UTC)
    )
    debs = dpkg_packages(args.dpkg_status.read_text()) if args.dpkg_status.exists() else []
    json.dump(document(debs, dists, os_release(), sealer, created), sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
