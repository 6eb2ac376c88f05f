"""The [universal_logout] section of the target file, and ``oin-conformance ul-info``."""

from __future__ import annotations

from pathlib import Path

import pytest

from oin_conformance.cli import main
from oin_conformance.target import TargetError, load
from tests.conftest import write_target

BASE = """
[app]
base_url = "https://app.example.com"
test_user = { username = "ada@example.com" }

[oidc]
login_url = "/oidc/login"
redirect_uris = ["/oidc/callback"]
client_id = "0oa1ulclient"
client_secret = "oidc-client-secret-value"
"""


def problems(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(TargetError) as info:
        load(write_target(tmp_path, body), environ=env or {})
    return info.value.problems


def test_defaults_and_protocol(tmp_path: Path) -> None:
    target = load(
        write_target(tmp_path, BASE + '[universal_logout]\nendpoint = "/ul"\n'), environ={}
    )
    ul = target.universal_logout
    assert ul is not None
    assert ul.subject_formats == ["email"]  # the Wizard's default
    assert ul.partial_support is False and ul.refresh_token is None
    assert target.protocols["universal_logout"] is True


def test_every_mistake_is_reported_at_once_without_secret_values(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        """
        [app]
        base_url = "https://app.example.com"

        [universal_logout]
        endpoint = "ul"
        subject_formats = ["phone_number"]
        partial = true

        [universal_logout.refresh_token]
        issue_url = "/rt"
        token_url = "/token"
        client_secret = 73191357
        """,
    )
    text = "\n".join(found)
    assert len(found) == 5, text
    assert "[universal_logout] unknown key 'partial'. Did you mean 'partial_support'?" in text
    assert "[universal_logout] key 'endpoint': must be an absolute http(s) URL" in text
    assert "Allowed: 'email' or 'iss_sub'" in text
    assert "[universal_logout.refresh_token] key 'client_secret'" in text
    assert "73191357" not in text  # a secret's value is never repeated
    assert "[universal_logout] needs [saml] or [oidc]" in text


def test_iss_sub_needs_the_users_id_in_the_app(tmp_path: Path) -> None:
    body = BASE + '[universal_logout]\nendpoint = "/ul"\nsubject_formats = ["email", "iss_sub"]\n'
    [problem] = problems(tmp_path, body)
    assert 'claims "iss_sub"' in problem and "add user_id" in problem
    [problem] = problems(tmp_path, body + 'user_id = "{uid}"\n')
    assert "user_id may name only {username}" in problem and "{uid}" in problem
    twice = BASE + '[universal_logout]\nendpoint = "/ul"\nsubject_formats = ["email", "email"]\n'
    [problem] = problems(tmp_path, twice)
    assert "names a format twice" in problem
    ok = load(write_target(tmp_path, body + 'user_id = "{username}"\n'), environ={})
    assert ok.universal_logout is not None and ok.universal_logout.user_id == "{username}"


def test_endpoint_is_at_most_1024_characters_as_in_the_wizard(tmp_path: Path) -> None:
    long = "/" + "a" * 1024
    [problem] = problems(tmp_path, BASE + f'[universal_logout]\nendpoint = "{long}"\n')
    assert "[universal_logout] key 'endpoint'" in problem and "1024" in problem


def test_refresh_client_secret_is_redacted_everywhere(tmp_path: Path) -> None:
    body = BASE + (
        '[universal_logout]\nendpoint = "/ul"\n[universal_logout.refresh_token]\n'
        'issue_url = "/rt"\ntoken_url = "/token"\nclient_id = "c"\n'
        'client_secret = "${RT_SECRET}"\n'
    )
    target = load(write_target(tmp_path, body), environ={"RT_SECRET": "refresh-secret-value"})
    assert "refresh-secret-value" in target.secrets()


def test_ul_info_prints_what_the_endpoint_must_accept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = BASE + (
        "[oidc.provider]\nport = 8765\n"
        '[saml]\nacs_url = "/saml/acs"\naudience = "https://app.example.com/saml"\n'
        '[universal_logout]\nendpoint = "/oauth/gtr?x=1"\nsubject_formats = ["email"]\n'
    )
    target = write_target(tmp_path, body)
    assert main(["ul-info", "--target", str(target)]) == 0
    out = capsys.readouterr().out
    assert "POST https://app.example.com/oauth/gtr?x=1" in out
    assert "JWT aud:  https://app.example.com/oauth/gtr\n" in out
    assert "typ global-token-revocation+jwt" in out
    assert '{"sub_id": {"format": "email"' in out and "iss_sub" not in out
    assert "iss:  http://127.0.0.1:8765" in out and "sub:  0oa1ulclient (the client id)" in out
    assert "keys: http://127.0.0.1:8765/oauth2/v1/keys" in out
    assert "iss:  https://oin-conformance.okta.invalid" in out and "(the appInstanceId)" in out
    assert "oidc-client-secret-value" not in out
    # Without the section: one ERROR line naming --target, exit status 4.
    plain = write_target(tmp_path, BASE, name="plain.toml")
    assert main(["ul-info", "--target", str(plain)]) == 4
    err = capsys.readouterr().err
    assert err.startswith("ERROR: --target ") and "has no [universal_logout] section" in err
