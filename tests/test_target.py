"""Target validation: every mistake is one clear message naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from oin_conformance.target import Target, TargetError, load
from tests.conftest import REFERENCE_TARGET, write_target

MINIMAL = """
[app]
base_url = "https://app.example.com"
[app.test_user]
username = "ada@example.com"
"""


def error_for(tmp_path: Path, body: str, env: dict[str, str] | None = None) -> str:
    path = write_target(tmp_path, body)
    with pytest.raises(TargetError) as info:
        load(path, environ=env or {})
    message = str(info.value)
    # One line per mistake, each naming the file.
    assert message.splitlines() == info.value.problems
    assert all(line.startswith(f"{path}: ") for line in info.value.problems)
    return message


def test_reference_target_loads() -> None:
    target = load(REFERENCE_TARGET)
    assert target.app.name == "Acme Reference App"
    assert len(target.sha256) == 64
    assert target.path == REFERENCE_TARGET.resolve()


def test_minimal_target_and_defaults(tmp_path: Path) -> None:
    target = load(write_target(tmp_path, MINIMAL), environ={})
    assert target.protocols == {
        "saml": False,
        "oidc": False,
        "scim": False,
        "universal_logout": False,
        "submission": False,
    }
    assert target.harness.timeout == 15
    assert target.state_dir() == tmp_path / ".oin-state"


def test_target_is_frozen(tmp_path: Path) -> None:
    target = load(write_target(tmp_path, MINIMAL), environ={})
    with pytest.raises(ValidationError):
        target.app.name = "other"  # type: ignore[misc]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TargetError, match="does not exist.*oin-conformance init"):
        load(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path: Path) -> None:
    assert "not valid TOML" in error_for(tmp_path, "[app\nname=1")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "target.toml"
    path.write_bytes(b"\xff\xfe[app]")
    with pytest.raises(TargetError, match="not UTF-8"):
        load(path)


def test_unknown_section_suggests_the_right_one(tmp_path: Path) -> None:
    message = error_for(tmp_path, MINIMAL + '\n[sanl]\nacs_url = "/acs"\naudience = "x"\n')
    assert "unknown section [sanl]" in message
    assert "Did you mean 'saml'?" in message


def test_misspelt_key_names_section_key_and_suggestion(tmp_path: Path) -> None:
    body = MINIMAL + '\n[saml]\nacs_ulr = "/acs"\nacs_url = "/acs"\naudience = "x"\n'
    message = error_for(tmp_path, body)
    assert "[saml] unknown key 'acs_ulr'" in message
    assert "Did you mean 'acs_url'?" in message
    assert "Allowed keys in [saml]:" in message


def test_missing_required_key(tmp_path: Path) -> None:
    message = error_for(tmp_path, MINIMAL + '\n[saml]\nacs_url = "/acs"\n')
    assert "[saml] missing required key 'audience'" in message


def test_value_not_allowed_lists_allowed(tmp_path: Path) -> None:
    body = MINIMAL + '\n[saml]\nacs_url = "/acs"\naudience = "x"\nsign = "never"\n'
    message = error_for(tmp_path, body)
    assert "[saml] key 'sign' is not allowed" in message
    assert "'response'" in message and "'both'" in message
    assert "'never'" in message


def test_bad_url(tmp_path: Path) -> None:
    body = MINIMAL + '\n[saml]\nacs_url = "ftp://x"\naudience = "x"\n'
    assert "must be an absolute http(s) URL" in error_for(tmp_path, body)


def test_app_needs_base_url_or_serve(tmp_path: Path) -> None:
    message = error_for(tmp_path, '[app]\nname = "x"\n[app.test_user]\nusername = "a"\n')
    assert "base_url" in message and "serve" in message


def test_signed_in_probe_must_name_the_user(tmp_path: Path) -> None:
    body = MINIMAL + '\n[app.signed_in]\nurl = "/me"\ncontains = "Welcome"\n'
    assert "{username}" in error_for(tmp_path, body)


def test_env_reference_is_resolved(tmp_path: Path) -> None:
    body = MINIMAL + (
        '\n[scim]\nbase_url = "/scim/v2"\n[scim.auth]\nmode = "bearer"\ntoken = "${SCIM_TOKEN}"\n'
    )
    target = load(write_target(tmp_path, body), environ={"SCIM_TOKEN": "s3cr3t-value"})
    assert target.scim is not None and target.scim.auth.token is not None
    assert target.scim.auth.token.get_secret_value() == "s3cr3t-value"
    assert "s3cr3t-value" in target.secrets()
    assert "s3cr3t-value" not in repr(target)


def test_missing_env_variable_is_named(tmp_path: Path) -> None:
    body = (
        MINIMAL + '\n[scim]\nbase_url = "/scim"\n[scim.auth]\nmode = "bearer"\ntoken = "${NOPE}"\n'
    )
    message = error_for(tmp_path, body)
    assert "${NOPE}" in message and "[scim.auth] key 'token'" in message


def test_value_from_environment_is_never_printed(tmp_path: Path) -> None:
    body = MINIMAL + '\n[harness]\ntimeout = "${T}"\n'
    message = error_for(tmp_path, body, env={"T": "hunter2-not-a-number"})
    assert "hunter2" not in message
    assert "[harness] key 'timeout'" in message


def test_secret_field_value_is_never_printed(tmp_path: Path) -> None:
    body = MINIMAL + (
        '\n[scim]\nbase_url = "/scim"\n[scim.auth]\nmode = "bearer"\ntoken = ["hunter2secret"]\n'
    )
    message = error_for(tmp_path, body)
    assert "hunter2secret" not in message


def test_scim_auth_mode_needs_its_credentials(tmp_path: Path) -> None:
    body = MINIMAL + '\n[scim]\nbase_url = "/scim"\n[scim.auth]\nmode = "basic"\nusername = "u"\n'
    assert 'mode = "basic" needs password' in error_for(tmp_path, body)


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    body = MINIMAL + (
        '\n[saml]\nacs = "/acs"\naudiense = "x"\n[harness]\ntimeout = -1\n'
        '[scim]\nbase_url = "/scim"\n[scim.auth]\nmode = "bearer"\ntoken = "${NOPE}"\n'
    )
    lines = error_for(tmp_path, body).splitlines()
    assert len(lines) == 4, lines
    for text in (
        "[scim.auth] key 'token' refers to environment variable ${NOPE}",
        "[saml] unknown key 'acs'. Did you mean 'acs_url'?",
        "[saml] unknown key 'audiense'. Did you mean 'audience'?",
        "[harness] key 'timeout'",
    ):
        assert any(text in line for line in lines), text
    # A misspelt key already names the key it was meant to be: no second line for it.
    assert not any("missing required key" in line for line in lines)


def test_base_url_and_serve_together_is_an_error(tmp_path: Path) -> None:
    body = MINIMAL.replace("[app]\n", '[app]\nserve = "tinyapp:app"\n')
    message = error_for(tmp_path, body)
    assert "[app]: give base_url or serve, not both" in message
    assert "Found keys: serve, base_url, test_user." in message


def test_scim_only_target_needs_no_test_user(tmp_path: Path) -> None:
    body = (
        '[app]\nbase_url = "https://app.example.com"\n'
        '[scim]\nbase_url = "/scim/v2"\n[scim.auth]\nmode = "bearer"\ntoken = "t"\n'
        '[submission]\nname = "App"\n'
    )
    target = load(write_target(tmp_path, body), environ={})
    assert target.app.test_user is None
    assert target.protocols["scim"] and target.protocols["submission"]


@pytest.mark.parametrize("protocol", ["saml", "oidc"])
def test_sign_in_needs_a_test_user_and_the_message_shows_a_form_that_works(
    tmp_path: Path, protocol: str
) -> None:
    sections = {
        "saml": '[saml]\nacs_url = "/acs"\naudience = "x"\n',
        "oidc": '[oidc]\nlogin_url = "/login"\nredirect_uris = ["/cb"]\nclient_id = "c"\n'
        'client_secret = "s"\n',
    }
    head = '[app]\nbase_url = "https://app.example.com"\n'
    message = error_for(tmp_path, head + sections[protocol])
    assert f"[{protocol}]" in message and "[app.test_user]" in message
    # The form the message shows, pasted under [app] as written, makes the target load.
    form = message.split("Fix: add to [app]: ", 1)[1].split(" (or a", 1)[0]
    fixed = head + form + "\n" + sections[protocol]
    target = load(write_target(tmp_path, fixed, name="fixed.toml"), environ={})
    assert target.app.test_user is not None
    assert target.app.test_user.username == "isvtest@example.com"


def test_test_user_without_username_shows_a_form_that_works(tmp_path: Path) -> None:
    body = MINIMAL.replace('username = "ada@example.com"', 'email = "ada@example.com"')
    message = error_for(tmp_path, body)
    assert "[app.test_user] missing required key 'username'" in message
    assert 'test_user = { username = "isvtest@example.com"' in message


def test_model_has_a_section_for_every_spec_protocol() -> None:
    assert set(Target.model_fields) >= {"app", "saml", "oidc", "scim", "submission", "harness"}
