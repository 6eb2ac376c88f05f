"""The OIDC suite against real software: the reference RP (Authlib's Flask client) passes
every check, and each planted flaw is caught by exactly the check meant for it."""

from __future__ import annotations

import concurrent.futures as cf
import importlib.util
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REFERENCE_TARGET, PluginRun, run_plugin

SECRET = "reference-oidc-client-secret-value"

FORGED = "oidc.refuses_forged_id_token"
#: flaw -> the checks that must fail (and no others).
EXPECTED: dict[str, set[str]] = {
    "no_signature_check": {f"{FORGED}[bad_signature]", f"{FORGED}[unknown_kid]",
                           f"{FORGED}[alg_none]"},
    "alg_none_accepted": {f"{FORGED}[alg_none]"},
    "iss_ignored": {f"{FORGED}[wrong_issuer]"},
    "aud_ignored": {f"{FORGED}[wrong_audience]"},
    "exp_ignored": {f"{FORGED}[expired]"},
    "nonce_ignored": {f"{FORGED}[nonce_mismatch]"},
    "no_nonce": {"oidc.authorize_request_sends_nonce", f"{FORGED}[nonce_mismatch]"},
    "state_ignored": {"oidc.refuses_callback_with_wrong_state"},
    "uses_default_server": {"oidc.uses_org_authorization_server"},
    "requires_email_verified": {"oidc.signs_in_without_email_verified[absent]",
                                "oidc.signs_in_without_email_verified[false]"},
    "no_initiate_login": {"oidc.third_party_initiated_sign_in"},
    "keys_never_refetched": {"oidc.accepts_token_signed_by_a_newly_rotated_key"},
    "no_pkce": {"oidc.authorize_request_uses_pkce_s256"},
    "no_jit": {"oidc.jit_creates_a_new_user_at_first_sign_in"},
}  # fmt: skip

#: flaws that break every sign-in: their own check must fail, saying why.
BREAKS_SIGN_IN: dict[str, tuple[str, str]] = {
    "unregistered_redirect_uri": (
        "oidc.authorize_request_is_one_okta_accepts",
        "is not registered exactly",
    ),
    "no_client_authentication": (
        "oidc.token_request_authenticates_the_client",
        "No client credentials found.",
    ),
    # Okta's org server refuses offline_access to an OIN app (invalid_scope).
    "requests_offline_access": (
        "oidc.does_not_ask_for_refresh_tokens",
        "scope='openid email profile offline_access'\nOkta answered: invalid_scope: ",
    ),
    # Sign-in goes to another org's `default` server and never reaches this one.
    "other_org_default_server": (
        "oidc.uses_org_authorization_server",
        "https://acme.okta.com/oauth2/default/v1/authorize?",
    ),
}


PYOIDC_TARGET = FIXTURES / "pyoidc_app" / "target.toml"
HAVE_PYOIDC = importlib.util.find_spec("flask_pyoidc") is not None


def variant(
    folder: Path,
    *,
    flaw: str | None = None,
    oidc_extra: str = "",
    source: Path = REFERENCE_TARGET,
) -> Path:
    """A fixture target runnable from ``folder``, optionally with one flaw planted."""
    text = source.read_text()
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]')
    text = text.replace('state_dir = ".oin-state"', f'state_dir = "{folder.parent / "state"}"')
    if flaw:
        text = text.replace(
            "[app.test_user]", f'[app.serve_options]\nflaw = "{flaw}"\n\n[app.test_user]'
        )
    if oidc_extra:
        text = text.replace("[oidc]\n", f"[oidc]\n{oidc_extra}\n", 1)
    folder.mkdir(parents=True)
    path = folder / "target.toml"
    path.write_text(text)
    return path


def run(folder: Path, target: Path, *args: str) -> PluginRun:
    return run_plugin(f"--oin-target={target}", "-m", "oidc", *args, cwd=folder)


def failed(result: PluginRun) -> set[str]:
    return {c["id"] for c in result.readiness["checks"] if c["outcome"] == "failed"}


def assert_no_secret(result: PluginRun) -> None:
    for path in result.report_dir.iterdir():
        if path.is_file():
            assert SECRET not in path.read_text(errors="replace"), path.name
    assert SECRET not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PluginRun]:
    """One plugin run per flaw (plus the clean app and a custom-issuer target), two at a time."""
    base = tmp_path_factory.mktemp("oidc")
    jobs: dict[str, tuple[Path, Path]] = {}
    for name in ["clean", *EXPECTED, *BREAKS_SIGN_IN]:
        folder = base / name
        jobs[name] = (folder, variant(folder, flaw=None if name == "clean" else name))
    folder = base / "custom_issuer"
    jobs["custom_issuer"] = (
        folder,
        variant(folder, oidc_extra='issuer = "https://acme.okta.com/oauth2/default"'),
    )
    if HAVE_PYOIDC:
        folder = base / "pyoidc"
        jobs["pyoidc"] = (folder, variant(folder, source=PYOIDC_TARGET))
    with cf.ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(run, *job) for name, job in jobs.items()}
        return {name: f.result() for name, f in futures.items()}


@pytest.mark.slow
def test_reference_rp_passes_every_oidc_check(runs: dict[str, PluginRun]) -> None:
    result = runs["clean"]
    outcomes = result.outcomes()
    assert outcomes, result.stdout[-3000:]
    assert set(outcomes.values()) == {"passed"}, result.stdout[-3000:]
    assert result.returncode == 0
    assert "oidc        ready" in result.stdout
    assert len(outcomes) == 20
    assert_no_secret(result)


@pytest.mark.slow
@pytest.mark.parametrize("flaw", sorted(EXPECTED))
def test_each_flaw_is_caught_by_its_check(runs: dict[str, PluginRun], flaw: str) -> None:
    result = runs[flaw]
    assert failed(result) == EXPECTED[flaw], result.stdout[-3000:]
    blocking = any(result.check(c)["severity"] == "blocking" for c in EXPECTED[flaw])
    assert (result.returncode != 0) == blocking
    assert_no_secret(result)


@pytest.mark.slow
@pytest.mark.parametrize("flaw", sorted(BREAKS_SIGN_IN))
def test_flaws_that_break_sign_in_are_named_by_their_check(
    runs: dict[str, PluginRun], flaw: str
) -> None:
    result = runs[flaw]
    check_id, text = BREAKS_SIGN_IN[flaw]
    check = result.check(check_id)
    assert check["outcome"] == "failed", result.stdout[-3000:]
    assert text in check["failure"]["seen"]
    assert result.check("oidc.sp_initiated_sign_in")["outcome"] == "failed"
    assert result.returncode != 0
    assert_no_secret(result)


@pytest.mark.slow
def test_refusals_are_inconclusive_where_sign_in_never_reaches_this_org(
    runs: dict[str, PluginRun],
) -> None:
    """SPEC §10: an RP whose sign-in goes elsewhere refuses every forgery — and proves
    nothing. Each must-refuse check is inconclusive, naming the failed control."""
    result = runs["other_org_default_server"]
    refusals = {c for c in result.outcomes() if c.startswith(FORGED)}
    refusals.add("oidc.refuses_callback_with_wrong_state")
    outcomes = result.outcomes()
    assert {outcomes[c] for c in refusals} == {"inconclusive"}, result.stdout[-3000:]
    check = result.check("oidc.refuses_callback_with_wrong_state")
    assert "A genuine sign-in does not work" in check["failure"]["title"]
    failure = result.check("oidc.uses_org_authorization_server")["failure"]
    assert "(issuer 'https://acme.okta.com/oauth2/default' names the `default`" in failure["seen"]
    assert result.readiness["protocols"]["oidc"]["status"] != "ready"


@pytest.mark.slow
def test_forged_token_failure_shows_decoded_token_and_the_apps_answer(
    runs: dict[str, PluginRun],
) -> None:
    check = runs["iss_ignored"].check(f"{FORGED}[wrong_issuer]")
    seen = check["failure"]["seen"]
    assert '"iss": "https://attacker-org.okta.com"' in seen
    assert '"alg": "RS256"' in seen and '"kid"' in seen
    assert "The app's response to the callback: HTTP" in seen
    assert "Compare iss exactly" in check["failure"]["fix"]
    token_exchanges = [e for e in check["transcript"] if e["url"].endswith("/oauth2/v1/token")]
    assert token_exchanges and token_exchanges[0]["decoded"]
    assert token_exchanges[0]["response_body"].count("[redacted]") >= 1  # access_token
    assert token_exchanges[0]["request_headers"]["Authorization"] == "Basic [redacted]"


@pytest.mark.slow
def test_custom_issuer_fails_before_any_flow(runs: dict[str, PluginRun]) -> None:
    result = runs["custom_issuer"]
    outcomes = result.outcomes()
    assert outcomes.pop("oidc.uses_org_authorization_server") == "failed"
    assert set(outcomes.values()) == {"skipped"}
    check = result.check("oidc.uses_org_authorization_server")
    assert "/oauth2/default" in check["failure"]["seen"]
    assert check["transcript"] == []  # no flow ran
    assert result.returncode != 0


@pytest.mark.slow
def test_default_server_flaw_names_the_paths_it_used(runs: dict[str, PluginRun]) -> None:
    check = runs["uses_default_server"].check("oidc.uses_org_authorization_server")
    assert "/oauth2/default/v1/authorize" in check["failure"]["seen"]
    assert "org authorization server" in check["failure"]["fix"]


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_PYOIDC, reason="flask-pyoidc is not installed")
def test_second_real_rp_flask_pyoidc_passes_every_blocking_check(
    runs: dict[str, PluginRun],
) -> None:
    """Flask-pyoidc (pyoidc) is a second, independent RP. True findings, both advisory: it
    sends no PKCE, and it accepts ``alg: none`` from the token endpoint in the code flow
    (OIDC Core §3.1.3.7 lets TLS stand in for the signature there, as mod_auth_openidc
    does too)."""
    result = runs["pyoidc"]
    assert result.outcomes(), result.stdout[-3000:]
    assert failed(result) == {
        "oidc.authorize_request_uses_pkce_s256",
        f"{FORGED}[alg_none]",
    }, result.stdout[-3000:]
    assert all(result.check(c)["severity"] == "advisory" for c in failed(result))
    assert result.returncode == 0
    assert "oidc        ready" in result.stdout
