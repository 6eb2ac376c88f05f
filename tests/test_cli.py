"""The oin-conformance command."""

from __future__ import annotations

from pathlib import Path

import pytest

from oin_conformance import __version__
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


def test_idp_metadata_is_stable_and_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    from lxml import etree

    from tests.conftest import REFERENCE_TARGET

    target = tmp_path / "target.toml"
    shutil.copy(REFERENCE_TARGET, target)
    assert main(["idp-metadata", "--target", str(target)]) == 0
    first = capsys.readouterr().out
    root = etree.fromstring(first.encode(), etree.XMLParser(resolve_entities=False))
    assert root.get("entityID", "").startswith("http://www.okta.com/exk")
    assert b"X509Certificate" in etree.tostring(root)
    assert main(["idp-metadata", "--target", str(target)]) == 0
    assert capsys.readouterr().out == first, "an ISV configures the app once: keep it stable"
    assert (tmp_path / ".oin-state" / "idp.key.pem").exists()


def test_op_info_prints_issuer_settings_without_the_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.conftest import REFERENCE_TARGET

    assert main(["op-info", "--target", str(REFERENCE_TARGET)]) == 0
    out = capsys.readouterr().out
    assert "/oidc/callback" in out
    assert "0oa1acmereferenceapp" in out
    secret = load(REFERENCE_TARGET).oidc.client_secret.get_secret_value()  # type: ignore[union-attr]
    assert secret not in out


def test_checks_lists_every_check_with_severity_and_requirement(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from tests.conftest import TINY_TARGET, write_target

    assert main(["checks"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["check", "id", "severity", "requirement"]
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[1:] if ln.strip() and " " in ln.strip()}
    assert rows["general.app_is_reachable"] == ["blocking", "GEN-REACHABLE"]
    assert rows["general.loopback_urls_are_for_testing_only"] == ["advisory", "GEN-HTTPS"]
    assert rows["saml.refuses_hostile_response[xsw1]"][0] == "blocking"
    for protocol in ("general", "saml", "oidc", "scim", "submission"):
        assert any(i.startswith(protocol + ".") for i in rows), protocol
    assert "checks shipped" in out

    # With a target: the checks that apply to it (here: no protocol, so general only).
    target = write_target(tmp_path, TINY_TARGET)
    assert main(["checks", "--target", str(target), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {c["protocol"] for c in listed} == {"general"}
    assert {c["id"] for c in listed} >= {"general.app_is_reachable"}
    assert set(listed[0]) == {"id", "protocol", "severity", "requirement", "title"}


def test_version_and_readable_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"oin-conformance {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "idp-metadata --target FILE" in out and "``" not in out


@pytest.mark.parametrize("command", ["idp-metadata", "op-info"])
def test_a_target_without_the_protocol_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    target = tmp_path / "t.toml"
    target.write_text(
        '[app]\nbase_url = "http://127.0.0.1:9"\n[app.test_user]\nusername = "a@b.c"\n'
    )
    assert main([command, "--target", str(target)]) == 4
    err = capsys.readouterr().err
    section = "saml" if command == "idp-metadata" else "oidc"
    assert err.count("\n") == 1 and err.startswith(f"ERROR: --target {target} has no [{section}]")


def test_init_into_a_missing_folder_is_one_error_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path / "nodir" / "x.toml")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("ERROR: cannot write")


def test_op_info_works_with_an_unset_secret_variable_and_never_prints_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OIN_TEST_UNSET_SECRET", raising=False)
    target = tmp_path / "t.toml"
    target.write_text(
        '[app]\nbase_url = "http://127.0.0.1:9"\n[app.test_user]\nusername = "a@b.c"\n'
        '[oidc]\nlogin_url = "/login"\nredirect_uris = ["/cb"]\nclient_id = "0oa1"\n'
        'client_secret = "${OIN_TEST_UNSET_SECRET}"\n'
    )
    assert main(["op-info", "--target", str(target)]) == 0
    out = capsys.readouterr().out
    assert "0oa1" in out and "(unset)" not in out


def test_a_broken_target_names_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "t.toml"
    target.write_text('[app]\nbase_ur = "http://127.0.0.1:9"\n')
    with pytest.raises(SystemExit) as info:
        main(["idp-metadata", "--target", str(target)])
    assert info.value.code == 4
    assert capsys.readouterr().err.startswith(f"ERROR: --target {target}")
