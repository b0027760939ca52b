"""The hooks under the real pre-commit framework, end to end: a Git repository whose
.pre-commit-config.yaml uses this repository's .pre-commit-hooks.yaml, and `git commit`.

Slow (pre-commit builds the hooks' virtualenv with pip, from PyPI, on first use): deselect with
``--deselect tests/hooks/test_precommit_framework.py`` or ``-k 'not precommit_framework'``.
Set SEALER_PRE_COMMIT_HOME to a directory to keep pre-commit's cache between runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.hooks.conftest import REPO

PRE_COMMIT = Path(sys.executable).parent / "pre-commit"
pytestmark = pytest.mark.skipif(not PRE_COMMIT.exists(), reason="pre-commit is not installed next to this Python")

# Commits with fixed names and dates: the hook repository's commit then depends on its content
# alone, so a kept SEALER_PRE_COMMIT_HOME is reused until the code changes.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def git(cwd: Path, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    environment.update(GIT_ENV, **(env or {}))
    return subprocess.run(
        ["git", *args], cwd=cwd, env=environment, check=check, capture_output=True, text=True, timeout=900
    )


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory) -> tuple[Path, str]:
    """A copy of what pre-commit installs from this repository, committed (this repository itself
    may have no commits, and the test must not make any there)."""
    repo = tmp_path_factory.mktemp("hook-repo")
    shutil.copy2(REPO / "pyproject.toml", repo)
    shutil.copy2(REPO / ".pre-commit-hooks.yaml", repo)
    if (REPO / "README.md").exists():
        shutil.copy2(REPO / "README.md", repo)
    else:
        (repo / "README.md").write_text("sealer\n")  # pyproject names it as the readme
    shutil.copytree(REPO / "sealer", repo / "sealer", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hooks")
    return repo, git(repo, "rev-parse", "HEAD").stdout.strip()


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory) -> Path:
    kept = os.environ.get("SEALER_PRE_COMMIT_HOME")
    return Path(kept) if kept else tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path, hook_repo, pre_commit_home):
    """A Git repository with the hooks installed as its pre-commit hook; returns commit(files)."""
    repo_path, rev = hook_repo
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q")
    config = {
        "repos": [
            {
                "repo": str(repo_path),
                "rev": rev,
                "hooks": [
                    {"id": "sealer-no-plaintext-secrets"},
                    {"id": "sealer-validate-sealed", "args": ["--require-namespace"]},
                ],
            }
        ]
    }
    (root / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config))
    env = {"PRE_COMMIT_HOME": str(pre_commit_home), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    subprocess.run(
        [str(PRE_COMMIT), "install"], cwd=root, check=True, capture_output=True, timeout=120, env={**os.environ, **env}
    )

    def commit(files: dict[str, str | bytes], message: str = "change") -> subprocess.CompletedProcess:
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content if isinstance(content, bytes) else content.encode())
        git(root, "add", "-A")
        return git(root, "commit", "-m", message, env=env, check=False)

    first = commit({}, "pre-commit config")
    assert first.returncode == 0, first.stdout + first.stderr
    commit.root = root
    return commit


SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
  namespace: prod
stringData:
  password: hunter2-do-not-commit
"""


def test_plaintext_secret_is_refused_and_its_sealed_version_accepted(project, keys):
    refused = project({"deploy/secret.yaml": SECRET})
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0, output
    assert 'deploy/secret.yaml:7: Secret "db" has plaintext stringData.password (plaintext-secret)' in output
    assert "hunter2-do-not-commit" not in output.replace(SECRET, "")
    assert git(project.root, "rev-list", "--count", "HEAD").stdout.strip() == "1"  # nothing was committed

    sealed = keys.sealer().seal_secret(yaml.safe_load(SECRET))
    accepted = project({"deploy/secret.yaml": yaml.safe_dump(sealed)})
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert git(project.root, "rev-list", "--count", "HEAD").stdout.strip() == "2"


def test_private_keys_and_malformed_sealed_secrets_are_refused(project, keys):
    refused = project({"backup/key.pem": keys.key_pem})
    assert refused.returncode != 0
    assert "backup/key.pem:1: PEM RSA private key" in refused.stdout + refused.stderr
    git(project.root, "rm", "-q", "--cached", "backup/key.pem")
    (project.root / "backup/key.pem").unlink()

    sealed = keys.sealer().seal_secret(yaml.safe_load(SECRET))
    del sealed["metadata"]["namespace"]  # --require-namespace in the config makes this an error
    refused = project({"deploy/sealed.yaml": yaml.safe_dump(sealed)})
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "deploy/sealed.yaml:" in output and "(sealed-namespace)" in output


def test_allow_list_in_the_repository_config(project):
    allowed = project(
        {
            ".sealer.yaml": "allow:\n  - path: fixtures/*\n    rule: plaintext-secret\n    reason: test data\n",
            "fixtures/secret.yaml": SECRET,
        }
    )
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
