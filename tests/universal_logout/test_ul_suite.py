"""The Universal Logout suite against the reference app: the clean app passes every check,
each planted flaw is caught by exactly the checks meant for it, a target without the
section skips them with the reason, an endpoint that cannot be reached is inconclusive (never
passed), and partial support without an observable refresh token cannot be judged."""

from __future__ import annotations

import concurrent.futures as cf
import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from fixtures.reference_app.universal_logout import FLAWS
from oin_conformance.attacks.universal_logout import ATTACKS, MALFORMED
from tests.conftest import FIXTURES, REFERENCE_TARGET, PluginRun, once_per_session, run_plugin
from tests.real.harness import free_port

P = "universal_logout."
SESSIONS = {
    f"{P}ends_user_sessions[{v}-{f}]" for v in ("oidc", "saml") for f in ("email", "iss_sub")
}
AUTH = {f"{P}refuses_unauthenticated_request[{name}]" for name in ATTACKS}
BODIES = {f"{P}refuses_malformed_request[{name}]" for name in MALFORMED}
UNKNOWN = f"{P}answers_404_for_an_unknown_user"
REFRESH = f"{P}revokes_refresh_tokens"
EVERY = SESSIONS | AUTH | BODIES | {UNKNOWN, REFRESH}

#: flaw -> the checks that must fail (and no others).
EXPECTED: dict[str, set[str]] = {
    "ul_no_auth_check": AUTH,
    "ul_ignores_audience": {f"{P}refuses_unauthenticated_request[wrong_audience]"},
    "ul_204_without_revoking": SESSIONS | {REFRESH},
    "ul_wrong_status_unknown_user": {UNKNOWN},
    "ul_crashes_on_malformed_body": BODIES,
}
#: An endpoint that refuses Okta's genuine request as well (configured with another org's
#: keys): the positive checks fail, and every refusal proves nothing (inconclusive).
NO_CONTROL = "ul_wrong_org_keys"


def _sections(text: str, keep: set[str]) -> str:
    """The target with only the top-level sections in ``keep``."""
    out, on = [], True
    for line in text.splitlines():
        if line.startswith("["):
            on = line.strip("[] ").split(".")[0] in keep
        if on:
            out.append(line)
    return "\n".join(out) + "\n"


def _no_ul(text: str) -> str:
    return _sections(text, {"app", "harness", "saml", "oidc"})


def _unreachable(text: str) -> str:
    return text.replace(
        'endpoint = "/oauth/global-token-revocation"',
        f'endpoint = "http://127.0.0.1:{free_port()}/oauth/global-token-revocation"',
    )


def _partial_saml(text: str) -> str:
    """SAML only, partial support, email only, no refresh-token table."""
    text = _sections(text, {"app", "harness", "saml", "universal_logout"})
    text = text.split("[universal_logout.refresh_token]")[0]
    return text.replace("partial_support = false", "partial_support = true").replace(
        'subject_formats = ["email", "iss_sub"]', 'subject_formats = ["email"]'
    )


EDITS: dict[str, Callable[[str], str]] = {
    "no_section": _no_ul,
    "unreachable": _unreachable,
    "partial_saml": _partial_saml,
}


def variant(folder: Path, name: str) -> Path:
    """The reference target runnable from ``folder``: one flaw planted, or one edit."""
    text = _sections(REFERENCE_TARGET.read_text(), {"app", "harness", "saml", "oidc",
                                                    "universal_logout"})  # fmt: skip
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]')
    text = text.replace('state_dir = ".oin-state"', f'state_dir = "{folder.parent / "state"}"')
    if name in FLAWS:
        text = text.replace(
            "[app.test_user]", f'[app.serve_options]\nflaw = "{name}"\n\n[app.test_user]'
        )
    elif name in EDITS:
        text = EDITS[name](text)
    folder.mkdir(parents=True)
    path = folder / "target.toml"
    path.write_text(text)
    return path


def run(folder: Path, target: Path) -> PluginRun:
    return run_plugin(f"--oin-target={target}", "-m", "universal_logout", cwd=folder)


def _all_runs(base: Path) -> dict[str, PluginRun]:
    """One plugin run per flaw, edit and the clean app, two at a time."""
    jobs = {name: base / name for name in ["clean", *EXPECTED, NO_CONTROL, *EDITS]}
    targets = {name: variant(folder, name) for name, folder in jobs.items()}
    with cf.ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(run, jobs[name], targets[name]) for name in jobs}
        results = {name: f.result() for name, f in futures.items()}
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PluginRun]:
    """The plugin runs, made once even when xdist spreads these tests over workers: the
    first worker to create the shared folder runs them, the others wait for its result."""
    return once_per_session(tmp_path_factory, "ul-runs", _all_runs)


def with_outcome(result: PluginRun, outcome: str) -> set[str]:
    return {c["id"] for c in result.readiness["checks"] if c["outcome"] == outcome}


@pytest.mark.slow
def test_reference_app_passes_every_universal_logout_check(runs: dict[str, PluginRun]) -> None:
    result = runs["clean"]
    outcomes = result.outcomes()
    assert set(outcomes) == EVERY, result.stdout[-3000:]
    assert set(outcomes.values()) == {"passed"}, result.stdout[-3000:]
    assert result.returncode == 0
    assert result.readiness["protocols"]["universal_logout"]["status"] == "ready"
    # The sessions ended through both sign-in protocols, and the refresh token was refused.
    notes = "\n".join(result.check(f"{P}ends_user_sessions[saml-iss_sub]")["notes"])
    assert "Signed in through SAML IdP-initiated sign-in" in notes
    assert "sub 0oa" in notes and "(the SAML app)" in notes
    notes = "\n".join(result.check(REFRESH)["notes"])
    assert "After the logout the refresh token was refused: " in notes
    assert "HTTP 400: error 'invalid_grant'" in notes
    # A refusal leaves the user signed in: a later refusal of the same process starts from
    # that session, proven again by a probe before its own request (no second sign-in).
    reused = [
        c
        for c in result.readiness["checks"]
        if any("the session an earlier refusal left" in n for n in c["notes"])
    ]
    assert reused, "no refusal reused the session an earlier refusal left"
    for check in reused:
        steps = [(e["method"], e.get("note", "")) for e in check["transcript"]]
        hostile = next(i for i, (m, _) in enumerate(steps) if m == "POST")
        assert steps[:hostile] == [("GET", "signed-in probe")], steps  # probe, then request
        assert steps[hostile + 1] == ("GET", "signed-in probe"), steps


def test_every_check_has_a_planted_flaw_that_proves_it_can_fail() -> None:
    assert set().union(*EXPECTED.values()) == EVERY
    assert set(FLAWS) == set(EXPECTED) | {NO_CONTROL}


@pytest.mark.slow
@pytest.mark.parametrize("flaw", sorted(EXPECTED))
def test_each_flaw_is_caught_by_exactly_its_checks(runs: dict[str, PluginRun], flaw: str) -> None:
    result = runs[flaw]
    assert with_outcome(result, "failed") == EXPECTED[flaw], result.stdout[-3000:]
    assert with_outcome(result, "passed") == EVERY - EXPECTED[flaw]
    blocking = any(result.check(c)["severity"] == "blocking" for c in EXPECTED[flaw])
    assert (result.returncode != 0) == blocking


@pytest.mark.slow
def test_refusals_without_an_accepted_genuine_request_are_inconclusive(
    runs: dict[str, PluginRun],
) -> None:
    """SPEC §10: an endpoint that refuses Okta's genuine request too refuses every forgery —
    and proves nothing. Its positive checks fail; each refusal is inconclusive, naming the
    failed control."""
    result = runs[NO_CONTROL]
    assert with_outcome(result, "failed") == SESSIONS | {REFRESH}, result.stdout[-3000:]
    assert with_outcome(result, "inconclusive") == AUTH | BODIES | {UNKNOWN}
    failure = result.check(f"{P}refuses_unauthenticated_request[bad_signature]")["failure"]
    assert failure["title"].startswith("Okta's genuine logout request is not accepted either")
    assert "NOT accepted: HTTP 401 (authentication missing or invalid)" in failure["seen"]
    refused = result.check(f"{P}ends_user_sessions[saml-email]")["failure"]
    assert refused["title"] == "The app refuses Okta's genuine logout request"
    assert "sub '0oa" in refused["fix"] and "oin-conformance ul-info" in refused["fix"]
    assert result.returncode != 0
    assert result.readiness["protocols"]["universal_logout"]["status"] == "not_ready"


@pytest.mark.slow
def test_a_204_that_leaves_the_session_alive_fails_with_the_evidence(
    runs: dict[str, PluginRun],
) -> None:
    check = runs["ul_204_without_revoking"].check(f"{P}ends_user_sessions[oidc-email]")
    failure = check["failure"]
    assert failure["title"] == (
        "The app answers 204 to Okta's logout request but the user is still signed in"
    )
    assert "-> HTTP 204 (logged out)" in failure["seen"]
    assert "Signed in as <b id='user'>ada@example.com</b>" in failure["seen"]
    assert '"typ": "global-token-revocation+jwt"' in failure["seen"]
    assert '"sub": "0oa1acmereferenceapp"' in failure["seen"]
    assert "revoke every session" in failure["fix"]
    posts = [e for e in check["transcript"] if e["url"].endswith("/oauth/global-token-revocation")]
    assert [e["status"] for e in posts] == [204]
    assert posts[0]["request_headers"]["Authorization"] == "Bearer [redacted]"
    assert json.loads(posts[0]["request_body"]) == {
        "sub_id": {"format": "email", "email": "ada@example.com"}
    }
    refresh = runs["ul_204_without_revoking"].check(REFRESH)["failure"]
    assert refresh["title"] == "The user's refresh token still works after Universal Logout"
    assert "tokens issued (access_token)" in refresh["seen"]
    # The app's refresh tokens are redacted wherever they travel.
    exchanges = runs["ul_204_without_revoking"].check(REFRESH)["transcript"]
    issued = [e for e in exchanges if e["url"].endswith("/api/refresh-token")]
    assert json.loads(issued[0]["response_body"])["refresh_token"] == "[redacted]"
    redeemed = [parse_qs(e["request_body"]) for e in exchanges if e["url"].endswith("/api/token")]
    assert [r["refresh_token"] for r in redeemed] == [["[redacted]"]] * 2


@pytest.mark.slow
def test_an_accepted_forgery_names_the_attack_and_the_fix(runs: dict[str, PluginRun]) -> None:
    check = runs["ul_no_auth_check"].check(f"{P}refuses_unauthenticated_request[alg_none]")
    failure = check["failure"]
    assert failure["title"] == (
        'The app accepts an unsigned logout JWT (alg "none"): it logs the user out'
    )
    assert '"alg": "none"' in failure["seen"] and "is no longer signed in" in failure["seen"]
    assert failure["expected"] == "HTTP 401 or 403, and the test user still signed in"
    assert "/oauth2/v1/keys" in failure["fix"] and "Risk while this is open" in failure["fix"]
    assert check["severity"] == "blocking" and check["requirement"] == "UL-AUTHENTICATION"
    clean = runs["clean"].check(f"{P}refuses_unauthenticated_request[alg_none]")
    assert "Control (OIDC)" in "\n".join(clean["notes"])


@pytest.mark.slow
def test_without_the_section_every_check_is_skipped_with_the_reason(
    runs: dict[str, PluginRun],
) -> None:
    result = runs["no_section"]
    assert result.returncode == 0, result.stdout[-3000:]
    checks = [c for c in result.readiness["checks"] if c["id"] in EVERY]
    assert {c["id"] for c in checks} == EVERY
    for check in checks:
        assert check["outcome"] == "skipped"
        assert "the target has no [universal_logout] section" in check["skip_reason"]
    assert result.readiness["protocols"]["universal_logout"]["status"] == "not_configured"


@pytest.mark.slow
def test_an_unreachable_endpoint_is_inconclusive_not_passed(runs: dict[str, PluginRun]) -> None:
    result = runs["unreachable"]
    outcomes = result.outcomes()
    assert set(outcomes) == EVERY
    assert set(outcomes.values()) == {"inconclusive"}, result.stdout[-3000:]
    failure = result.check(f"{P}ends_user_sessions[oidc-email]")["failure"]
    assert failure["title"] == "The app could not be reached"
    assert "connection refused" in failure["seen"]
    assert result.returncode != 0
    assert result.readiness["protocols"]["universal_logout"]["status"] == "not_ready"


@pytest.mark.slow
def test_partial_support_needs_an_observable_refresh_token(runs: dict[str, PluginRun]) -> None:
    """Partial support: sessions are not expected to end (skipped, saying why); without
    [universal_logout.refresh_token] the revocation cannot be observed (inconclusive);
    refusals run through the only sign-in protocol there is (SAML)."""
    result = runs["partial_saml"]
    outcomes = result.outcomes()
    skipped = {c["id"]: c["skip_reason"] for c in result.readiness["checks"] if c["id"] in SESSIONS}
    assert set(skipped) == SESSIONS and {outcomes[c] for c in SESSIONS} == {"skipped"}
    assert "OIDC not configured" in skipped[f"{P}ends_user_sessions[oidc-email]"]
    assert "partial support claimed" in skipped[f"{P}ends_user_sessions[saml-email]"]
    assert "'iss_sub' not claimed" in skipped[f"{P}ends_user_sessions[saml-iss_sub]"]
    assert outcomes[REFRESH] == "inconclusive"
    assert "add [universal_logout.refresh_token]" in result.check(REFRESH)["failure"]["fix"].lower()
    assert {outcomes[c] for c in AUTH | BODIES | {UNKNOWN}} == {"passed"}, result.stdout[-3000:]
    notes = "\n".join(result.check(f"{P}refuses_unauthenticated_request[expired]")["notes"])
    assert "Control (SAML)" in notes and "Signed in through SAML IdP-initiated" in notes
    assert result.returncode != 0
    assert result.readiness["protocols"]["universal_logout"]["status"] == "not_ready"
