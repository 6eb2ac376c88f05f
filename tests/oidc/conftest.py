"""Fixtures the OIDC role's tests share."""

from __future__ import annotations

import pytest

from oin_conformance.state import StateFolder


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> StateFolder:
    return StateFolder(tmp_path_factory.mktemp("state"))
