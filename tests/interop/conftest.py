from __future__ import annotations

from pathlib import Path

import pytest

from tests.peers import peer_bin_dir


def find_binary(directory: Path, name: str) -> Path:
    for candidate in (
        directory / name,
        *sorted(directory.glob(f"*/bin/{name}")),
        *sorted(directory.glob(f"bin/{name}")),
    ):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{name} not found under {directory}")


@pytest.fixture(scope="session")
def kubeseal() -> Path:
    return find_binary(peer_bin_dir("bitnami"), "kubeseal")
