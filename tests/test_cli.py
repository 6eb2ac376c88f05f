"""The oin-conformance command."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel

from oin_conformance import __version__
from oin_conformance.cli import TEMPLATE, main
from oin_conformance.target import Target, load


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
    assert set(listed[0]) == {"id", "protocol", "severity", "requirement", "title", "advisories"}
    # Advisory ids are listed after the requirement, in the table and the JSON.
    row = " ".join(rows["saml.refuses_hostile_response[comment_in_digest_value]"])
    assert "(CVE-2025-29775, GHSA-x3m8-899r-f7c3)" in row
    digest = next(c for c in listed_all(capsys) if c["id"].endswith("[comment_in_digest_value]"))
    assert "CVE-2025-29775" in digest["advisories"]


def listed_all(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    import json

    assert main(["checks", "--json"]) == 0
    return list(json.loads(capsys.readouterr().out))


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


def _uncomment(template: str, *, alternatives: bool) -> str:
    """The template with its optional keys ("# key = ...", "# [section]") uncommented,
    and with alternatives also ("## key = ...")."""
    marks = r"(?:##|#)" if alternatives else "#"
    return re.sub(rf"(?m)^{marks} (?=\[|[a-z_]+ = )", "", template)


def _model_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every key of the target model (nested sections included), as paths."""
    paths: list[tuple[str, ...]] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue  # filled by load(), not written in the file
        path = (*prefix, name)
        paths.append(path)
        if name == "signed_in" and prefix != ("app",):
            continue  # a protocol's override has [app.signed_in]'s keys
        args = [field.annotation, *get_args(field.annotation)]
        args += [a for arg in args for a in get_args(arg)]  # list[Model]
        nested = next((a for a in args if isinstance(a, type) and issubclass(a, BaseModel)), None)
        if nested is not None:
            paths += _model_paths(nested, path)
    return paths


def _lookup(data: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if isinstance(data, list):
            data = data[0]
        if not isinstance(data, dict) or part not in data:
            return False
        data = data[part]
    return True


def _readme_table_keys() -> dict[str, set[str]]:
    """The README's target table: top section -> every key its row names."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    table = text.split("## The target file", 1)[1].split("\n\n| section | keys |", 1)[1]
    rows: dict[str, set[str]] = {}
    for line in table.split("\n\n", 1)[0].splitlines()[2:]:
        cells = line.split("|")
        section = cells[1].strip().strip("`[]").split(".")[0]
        keys = re.sub(r"\([^()]*\)", "", "|".join(cells[2:]))  # (allowed values, notes)
        found = set(re.findall(r"`([a-z_]+)(?: = [^`]*)?`", keys))
        rows.setdefault(section, set()).update(found)
    return rows


def _keys_under(data: Any) -> set[str]:
    if isinstance(data, list):
        return set().union(*(_keys_under(v) for v in data)) if data else set()
    if not isinstance(data, dict):
        return set()
    return set(data).union(*(_keys_under(v) for v in data.values()))


def test_init_template_names_every_key_and_loads_uncommented(tmp_path: Path) -> None:
    env = {
        "OIDC_CLIENT_SECRET": "s",
        "SCIM_TOKEN": "t",
        "SCIM_PASSWORD": "p",
        "SCIM_CLIENT_SECRET": "c",
        "OIN_TEST_ACCOUNT_PASSWORD": "a",
        "REFRESH_CLIENT_SECRET": "r",
    }
    # Every optional key uncommented at once still loads (all protocols configured).
    optional = tmp_path / "optional.toml"
    optional.write_text(_uncomment(TEMPLATE, alternatives=False))
    target = load(optional, environ=env)
    assert all(target.protocols.values())
    assert target.submission is not None and target.submission.contacts
    # With the alternatives too: every key of every section is in the template.
    everything = tomllib.loads(_uncomment(TEMPLATE, alternatives=True))
    missing = [".".join(p) for p in _model_paths(Target) if not _lookup(everything, p)]
    assert missing == []
    # Every key the README's table lists, [submission] included, is in the template.
    rows = _readme_table_keys()
    assert set(rows) == {"app", "harness", "saml", "oidc", "scim", "universal_logout", "submission"}
    assert "sign_on_modes" in rows["submission"] and "serve" in rows["app"]
    for section, keys in rows.items():
        assert keys - _keys_under(everything[section]) == set(), section
    # Each key line says what it is (a trailing comment) or sits under a comment line.
    lines = TEMPLATE.splitlines()
    for i, line in enumerate(lines):
        bare = re.sub(r"^#+ ", "", line)
        if re.match(r"[a-z_]+ = ", bare) and " # " not in bare:
            assert lines[i - 1].startswith("#") or "=" in lines[i - 1], line
