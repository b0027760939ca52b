"""The controller image, built for real from deploy/Dockerfile (tests/controller_image.py): its
labels and config, its SBOM against what is really installed in it, and that it runs as the
Deployment runs it (read-only root, UID 1001, no capabilities) without writing anything.
The image against a real control plane: tests/e2e/test_image.py."""

from __future__ import annotations

import json

import pytest

from sealer._version import __version__
from tests.controller_image import Image, controller_image

pytestmark = pytest.mark.image

# Prints, from inside the image, what is really installed: every Debian package (dpkg) and every
# Python distribution of the controller's environment, with versions.
INSTALLED = r"""
import importlib.metadata, json, re, subprocess
debs = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${db:Status-Status}\n"],
                      capture_output=True, text=True, check=True).stdout.split("\n")
print(json.dumps({
    "deb": {n: v for n, v, s in (line.split(" ") for line in debs if line) if s == "installed"},
    "pypi": {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower(): d.version
             for d in importlib.metadata.distributions()},
}))
"""


@pytest.fixture(scope="module")
def image() -> Image:
    return controller_image()


@pytest.fixture(scope="module")
def sbom(image) -> dict:
    proc = image.run("/opt/sealer/sbom.spdx.json", entrypoint="cat")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def purls(sbom: dict, kind: str) -> dict[str, str]:
    """name -> version of the SBOM's packages whose purl is pkg:<kind>/..."""
    found = {}
    for p in sbom["packages"]:
        for ref in p.get("externalRefs", []):
            purl = ref["referenceLocator"]
            if ref["referenceType"] == "purl" and purl.startswith(f"pkg:{kind}/"):
                name = p["name"] if kind == "deb" else purl.split("/", 1)[1].split("@")[0]
                found[name] = p["versionInfo"]
    return found


def test_labels_and_config(image):
    info = image.inspect()
    labels = info["Labels"]
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.source"] == "https://github.com/sealer-dev/sealer"
    assert labels["org.opencontainers.image.title"] == "sealer-controller"
    if image.revision:  # a checkout with git
        assert labels["org.opencontainers.image.revision"] == image.revision
    config = info["Config"]
    assert config["User"] == "1001:1001"
    assert config["Entrypoint"] == ["sealer-controller"]
    assert set(config["ExposedPorts"]) == {"8080/tcp", "8081/tcp"}
    assert "HOME=/tmp" in config["Env"]


def test_runs_read_only_as_1001_without_capabilities(image):
    proc = image.run("--version")
    assert (proc.returncode, proc.stdout.strip()) == (0, f"controller version: v{__version__}"), proc.stderr
    # What the process really is, from its own /proc: the Deployment's securityContext.
    status = image.run("-c", "print(open('/proc/self/status').read())", entrypoint="python3")
    fields = dict(line.split(":\t", 1) for line in status.stdout.splitlines() if ":\t" in line)
    assert fields["Uid"].split() == ["1001"] * 4 and fields["Gid"].split() == ["1001"] * 4
    assert int(fields["CapEff"], 16) == int(fields["CapBnd"], 16) == 0
    assert fields["NoNewPrivs"].strip() == "1"
    write = image.run("-c", "touch /opt/sealer/x || exit 7; touch /tmp/ok", entrypoint="sh")
    assert write.returncode == 7 and "Read-only file system" in write.stderr


def test_everything_the_controller_imports_is_precompiled(image):
    # On a read-only root nothing can be compiled and cached at start: every module the controller
    # loads must come with its bytecode, or each start recompiles it (slow).
    probe = (
        "import importlib, importlib.util, os, pkgutil, sys, controller, keys, sealer\n"
        "for pkg in (controller, keys, sealer):\n"
        "    for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "        if m.name not in ('controller.__main__', 'sealer.__main__'):\n"
        "            try:\n"
        "                importlib.import_module(m.name)\n"
        "            except ModuleNotFoundError as e:\n"
        "                if e.name != 'keyring':  # the [keyring] extra, left out of the image\n"
        "                    raise\n"
        "import kubernetes.client, kubernetes.config, prometheus_client\n"
        "missing = [m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)\n"
        "           and m.__file__.endswith('.py') and m.__file__.startswith('/opt/sealer')\n"
        "           and not os.path.exists(importlib.util.cache_from_source(m.__file__))]\n"
        "print(len(sys.modules), missing)"
    )
    proc = image.run("-c", probe, entrypoint="/opt/sealer/bin/python")
    assert proc.returncode == 0, proc.stderr
    count, missing = proc.stdout.split(" ", 1)
    assert int(count) > 300 and missing.strip() == "[]"


def test_no_pip_in_the_image(image):
    proc = image.run("-c", "import pip", entrypoint="/opt/sealer/bin/python")
    assert proc.returncode == 1 and "No module named 'pip'" in proc.stderr
    assert image.run("-c", "import pip", entrypoint="python3").returncode == 1


def test_sbom_lists_what_is_installed_with_versions(image, sbom):
    assert sbom["spdxVersion"] == "SPDX-2.3" and sbom["dataLicense"] == "CC0-1.0"
    proc = image.run("-c", INSTALLED, entrypoint="/opt/sealer/bin/python")
    assert proc.returncode == 0, proc.stderr
    installed = json.loads(proc.stdout)
    debs, dists = purls(sbom, "deb"), purls(sbom, "pypi")
    assert debs == installed["deb"]
    assert dists == installed["pypi"]
    assert debs["python3"] and debs["libssl3"]  # the interpreter and the OpenSSL it links
    assert {"cryptography", "kubernetes", "pyyaml", "prometheus-client", "click"} <= dists.keys()
    assert dists["sealer"] == __version__
    described = sbom["documentDescribes"]
    image_pkg = next(p for p in sbom["packages"] if p["SPDXID"] in described)
    assert (image_pkg["name"], image_pkg["versionInfo"]) == ("sealer-controller", __version__)
    contained = {r["relatedSpdxElement"] for r in sbom["relationships"] if r["relationshipType"] == "CONTAINS"}
    assert contained == {p["SPDXID"] for p in sbom["packages"]} - set(described)


def test_image_stays_small(image):
    # The base (~106 MB) plus the venv (~180 MB, most of it the kubernetes client's generated code).
    size = image.inspect()["Size"]
    assert 100e6 < size < 350e6, size
