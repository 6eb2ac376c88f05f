"""The OIDC suite against real software: the reference RP (Authlib's Flask client) passes
every check, and each planted flaw is caught by exactly the checks meant for it (EXPECTED),
while the checks it leaves unable to judge are exactly the documented ones (UNJUDGED)."""

from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REFERENCE_TARGET, PluginRun, once_per_session, run_plugin

SECRET = "reference-oidc-client-secret-value"

FORGED = "oidc.refuses_forged_id_token"
GENUINE = "oidc.accepts_genuine_id_token"
USERINFO = "oidc.ignores_userinfo_for_another_user[userinfo_sub_mismatch]"
DISCOVERY = "oidc.refuses_discovery_document_for_another_issuer[discovery_issuer_mismatch]"
OPEN_REDIRECT = "oidc.initiate_login_stays_on_site[third_party_login_open_redirect]"
#: Every forgery whose signature only a signature check can tell from Okta's.
SIGNATURE_FAMILY = {
    f"{FORGED}[{name}]"
    for name in (
        "bad_signature", "unknown_kid", "alg_none", "hs256_public_key_pem",
        "hs256_certificate_pem", "hs256_jwk_json", "hs256_public_key_der",
        "jku_attacker_jwks", "x5u_attacker_cert", "jwk_embedded", "x5c_embedded",
        "kid_path_traversal", "kid_sql_injection", "kid_absent_several_keys",
    )
}  # fmt: skip
#: flaw -> the checks that must fail (and no others).
EXPECTED: dict[str, set[str]] = {
    "no_signature_check": SIGNATURE_FAMILY,
    "alg_none_accepted": {f"{FORGED}[alg_none]"},
    "iss_ignored": {f"{FORGED}[wrong_issuer]", f"{FORGED}[issuer_trailing_slash]"},
    "aud_ignored": {f"{FORGED}[wrong_audience]", f"{FORGED}[aud_array_without_client]"},
    "exp_ignored": {f"{FORGED}[expired]"},
    "nonce_ignored": {f"{FORGED}[nonce_mismatch]"},
    "no_nonce": {"oidc.authorize_request_sends_nonce", f"{FORGED}[nonce_mismatch]"},
    "state_ignored": {"oidc.refuses_callback_with_wrong_state"},
    "uses_default_server": {"oidc.uses_org_authorization_server"},
    "requires_email_verified": {"oidc.signs_in_without_email_verified[absent]",
                                "oidc.signs_in_without_email_verified[false]"},
    "no_initiate_login": {"oidc.third_party_initiated_sign_in",
                          "oidc.jit_creates_a_new_user_from_the_okta_dashboard"},
    "keys_never_refetched": {f"{GENUINE}[key_rotation]"},
    "no_pkce": {"oidc.authorize_request_uses_pkce_s256"},
    "no_jit": {"oidc.jit_creates_a_new_user_at_first_sign_in",
               "oidc.jit_creates_a_new_user_from_the_okta_dashboard"},
    # Issue 13: each modelled on what a vulnerable library or app does (flaws_oidc.py).
    "hmac_public_key_pem": {f"{FORGED}[hs256_public_key_pem]"},
    "hmac_certificate_pem": {f"{FORGED}[hs256_certificate_pem]"},
    "hmac_jwk_json": {f"{FORGED}[hs256_jwk_json]"},
    "hmac_public_key_der": {f"{FORGED}[hs256_public_key_der]"},
    "follows_jku": {f"{FORGED}[jku_attacker_jwks]"},
    "follows_x5u": {f"{FORGED}[x5u_attacker_cert]"},
    "trusts_embedded_jwk": {f"{FORGED}[jwk_embedded]"},
    "trusts_x5c": {f"{FORGED}[x5c_embedded]"},
    "kid_as_file_path": {f"{FORGED}[kid_path_traversal]"},
    "kid_in_sql_query": {f"{FORGED}[kid_sql_injection]"},
    "unverified_without_kid": {f"{FORGED}[kid_absent_several_keys]"},
    "claims_not_required": {f"{FORGED}[missing_iat]", f"{FORGED}[missing_sub]",
                            f"{FORGED}[missing_aud]", f"{FORGED}[aud_array_without_client]"},
    "kid_required": {f"{GENUINE}[kid_absent_single_key]"},
    "jwks_all_or_nothing": {f"{GENUINE}[unparseable_jwks_key]"},
    "discovery_issuer_trusted": {DISCOVERY},
    "userinfo_sub_unchecked": {USERINFO},
    "follows_target_link_uri": {OPEN_REDIRECT},
}  # fmt: skip

#: flaw -> the checks that cannot judge it (inconclusive, and why), besides its failures.
UNJUDGED: dict[str, set[str]] = {
    # Never refetching, the app never sees the key set those two checks change.
    "keys_never_refetched": {f"{GENUINE}[unparseable_jwks_key]",
                             f"{GENUINE}[kid_absent_single_key]"},
    # Authlib keeps the key set with the broken entry it failed to parse and verifies no
    # token after it: the checks that run later see no sign-in complete (the discovery
    # check still judges: the app refuses the document before any token).
    "jwks_all_or_nothing": {f"{GENUINE}[kid_absent_single_key]", USERINFO, OPEN_REDIRECT},
    # No dashboard sign-in works, so an off-site redirect from it proves nothing.
    "no_initiate_login": {OPEN_REDIRECT},
}  # fmt: skip
#: Serve options a flaw needs besides its name (the certificate the app was configured with).
FLAW_OPTIONS: dict[str, str] = {"hmac_certificate_pem": 'op_certificate = "{state}/op.cert.pem"'}

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
        options = FLAW_OPTIONS.get(flaw, "").format(state=folder.parent / "state")
        text = text.replace(
            "[app.test_user]",
            f'[app.serve_options]\nflaw = "{flaw}"\n{options}\n\n[app.test_user]',
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
    """One plugin run per flaw (plus the clean app and a custom-issuer target), two at a time,
    made once per session even when xdist spreads these tests over workers."""
    return once_per_session(tmp_path_factory, "oidc-runs", _all_runs)


def _all_runs(base: Path) -> dict[str, PluginRun]:
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
    assert re.search(r"^oidc +ready ", result.stdout, re.M)
    assert len(outcomes) == 42
    assert_no_secret(result)


@pytest.mark.slow
@pytest.mark.parametrize("flaw", sorted(EXPECTED))
def test_each_flaw_is_caught_by_its_check(runs: dict[str, PluginRun], flaw: str) -> None:
    result = runs[flaw]
    assert failed(result) == EXPECTED[flaw], result.stdout[-3000:]
    unjudged = {c for c, outcome in result.outcomes().items() if outcome == "inconclusive"}
    assert unjudged == UNJUDGED.get(flaw, set()), result.stdout[-3000:]
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
    # Flask-pyoidc reads the discovery document once, at its first sign-in: a document
    # naming another issuer cannot reach it later, and the check says so instead of passing.
    skipped = {c for c, outcome in result.outcomes().items() if outcome == "skipped"}
    assert skipped == {DISCOVERY}, result.stdout[-3000:]
    assert "not applicable" in result.check(DISCOVERY)["skip_reason"]
    assert result.returncode == 0
    assert re.search(r"^oidc +ready ", result.stdout, re.M)


@pytest.mark.slow
def test_key_forgeries_show_the_fetch_from_the_attackers_site(
    runs: dict[str, PluginRun],
) -> None:
    """SPEC §10 "Delivery": the jku / x5u failures show the decoded header and the request
    the app made to the attacker's loopback site for it."""
    for flaw, name, document in (
        ("follows_jku", "jku_attacker_jwks", "jwks.json"),
        ("follows_x5u", "x5u_attacker_cert", "cert.pem"),
    ):
        check = runs[flaw].check(f"{FORGED}[{name}]")
        seen = check["failure"]["seen"]
        header = name[:3]
        assert f'"{header}": "http://127.0.0.1:' in seen
        assert "The app fetched the attacker's key from the URL in the token:" in seen
        assert re.search(
            rf"{header} http://127\.0\.0\.1:\d+/[\w-]+/{re.escape(document)}: "
            rf"GET /[\w-]+/{re.escape(document)} \(User-Agent: python-requests/",
            seen,
        ), seen
        assert "ignore the jku, x5u, jwk and x5c headers" in check["failure"]["fix"]


@pytest.mark.slow
def test_hmac_confusion_failure_names_its_advisories(runs: dict[str, PluginRun]) -> None:
    check = runs["hmac_public_key_pem"].check(f"{FORGED}[hs256_public_key_pem]")
    assert '"alg": "HS256"' in check["failure"]["seen"]
    assert "never let the token's alg header choose" in check["failure"]["fix"]
    refs = {r["id"]: r["url"] for r in check["references"]}
    assert refs["GHSA-5357-c2jx-v7qh"] == "https://github.com/advisories/GHSA-5357-c2jx-v7qh"
    assert refs["CVE-2024-37568"] == "https://nvd.nist.gov/vuln/detail/CVE-2024-37568"
    assert {"CVE-2024-33663", "CVE-2022-29217", "rp-id_token-bad-sig-hs256"} <= set(refs)
    assert [r["id"] for r in runs["clean"].check(f"{FORGED}[alg_none]")["references"]] == [
        "rp-id_token-sig-none"
    ]


@pytest.mark.slow
def test_genuine_token_and_provider_answer_failures_say_what_was_seen(
    runs: dict[str, PluginRun],
) -> None:
    failure = runs["kid_required"].check(f"{GENUINE}[kid_absent_single_key]")["failure"]
    # The app fetched the single-key set and still refused the kid-less token.
    assert re.search(r"Key sets the app fetched during this check: \[[\w-]+\]\n", failure["seen"])
    assert "Sign-in fails for a genuine ID token without kid" in failure["title"]
    assert "Advisory, not blocking: Okta always sends a kid" in failure["fix"]
    failure = runs["jwks_all_or_nothing"].check(f"{GENUINE}[unparseable_jwks_key]")["failure"]
    assert re.search(r"fetched during this check: \[broken-[\w-]+, ", failure["seen"])
    failure = runs["userinfo_sub_unchecked"].check(USERINFO)["failure"]
    assert "/userinfo answered for ada@example.com (sub 00u" in failure["seen"]
    assert "ada@example.com is signed in" in failure["seen"]
    failure = runs["discovery_issuer_trusted"].check(DISCOVERY)["failure"]
    named = "/.well-known/openid-configuration named the issuer https://attacker-org"
    assert named in failure["seen"]
    failure = runs["follows_target_link_uri"].check(OPEN_REDIRECT)["failure"]
    assert "Location: https://evil.example/after-sign-in" in failure["seen"]
    unjudged = runs["keys_never_refetched"].check(f"{GENUINE}[unparseable_jwks_key]")
    assert "(which found it never does)" in unjudged["failure"]["seen"]
