"""The oin-conformance command."""

from __future__ import annotations

from pathlib import Path

import pytest

from oin_conformance.cli import main
from oin_conformance.target import load


def test_init_writes_a_template_that_loads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "oin-target.toml"
    assert main(["init", str(path)]) == 0
    target = load(path)
    assert target.app.base_url == "https://app.example.com"
    assert "pytest --oin-target=" in capsys.readouterr().out
    assert main(["init", str(path)]) == 1
    assert "exists" in capsys.readouterr().err
    assert main(["init", str(path), "--force"]) == 0


def test_bad_target_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[app]\n")
    with pytest.raises(SystemExit) as info:
        main(["op-info", "--target", str(path)])
    assert info.value.code == 4
    assert capsys.readouterr().err.startswith("ERROR: ")
