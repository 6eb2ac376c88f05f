"""The SCIM suite through the real plugin: the reference server passes every blocking check
for SCIM 2.0 and 1.1 (and in every auth mode, with more than a hundred accounts of its own
and with rate limiting Okta can follow), and each planted flaw is caught by its check."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from fixtures.reference_app.flaws_scim import (
    ALSO_INCONCLUSIVE,
    BENIGN,
    CAUGHT_BY,
    CONTROL_FLAWS,
    ONLY_VERSION,
    RUN_ALONE,
    TARGET_LINES,
)
from tests.conftest import FIXTURES, REFERENCE_TARGET, PluginRun, run_plugin

SCIM11_TARGET = FIXTURES / "reference_app" / "target-scim11.toml"
AUTH = {
    "bearer": '[scim.auth]\nmode = "bearer"\ntoken = "suite-token-123456"\n',
    "header": '[scim.auth]\nmode = "header"\ntoken = "suite-token-123456"\n',
    "basic": '[scim.auth]\nmode = "basic"\nusername = "okta"\npassword = "suite-pass-123456"\n',
    "oauth2": '[scim.auth]\nmode = "oauth2"\ntoken_url = "/oauth/token"\nclient_id = "okta"\n'
    'client_secret = "suite-secret-123456"\n',
}


def scim_target(
    folder: Path,
    version: str = "2.0",
    auth: str = "bearer",
    flaw: str = "",
    *,
    accounts: int = 0,
    lines: str = "",
) -> Path:
    """A SCIM-only target for the reference app (from target-scim11.toml, which is SCIM-only);
    SCIM 2.0 declares the reference server's entitlement endpoints. ``accounts``: that many
    more users of the server's own; ``lines``: more [scim] keys."""
    text = SCIM11_TARGET.read_text().replace('pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]')
    text = text[: text.index("[scim.auth]")] + lines + "\n" + AUTH[auth]
    if version == "2.0":
        text = text.replace('base_url = "/scim/v1"', 'base_url = "/scim/v2"')
        text = text.replace(
            'version = "1.1"', 'version = "2.0"\nentitlements = ["/Roles", "/Entitlements"]'
        )
    options = (f'flaw = "{flaw}"\n' if flaw else "") + (
        f"scim_users = {accounts}\n" if accounts else ""
    )
    if options:
        text = text.replace("[app.test_user]", f"[app.serve_options]\n{options}\n[app.test_user]")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "target.toml"
    path.write_text(text)
    return path


def run(target: Path, *extra: str) -> PluginRun:
    return run_plugin(f"--oin-target={target}", "-m", "scim", "-q", *extra, cwd=target.parent)


#: Checks that only apply to the other SCIM version (skipped with a reason).
DISCOVERY = ("ServiceProviderConfigs", "ResourceTypes", "Schemas")
VERSION_ONLY = {
    "2.0": {"scim.refuses_malformed_filter_with_400"}
    | {
        f"scim.{check}[{e}]"
        for e in DISCOVERY
        for check in ("serves_discovery_endpoint", "discovery_endpoint_is_read_only")
    },
    # Entitlements are SCIM 2.0 only (a 1.1 target cannot declare them).
    "1.1": {"scim.answers_okta_entitlements_test"},
}


def assert_ready(
    result: PluginRun, version: str = "2.0", advisories: frozenset[str] = frozenset()
) -> None:
    data = result.readiness
    scim = data["protocols"]["scim"]
    checks = [c for c in data["checks"] if c["protocol"] == "scim"]
    bad = {
        c["id"]: (c["failure"] or c["message"])
        for c in checks
        if c["outcome"] in ("failed", "error")
    }
    skipped = {c["id"]: c["skip_reason"] for c in checks if c["outcome"] == "skipped"}
    assert scim["status"] == "ready", bad
    assert set(bad) == advisories, bad
    assert set(skipped) == VERSION_ONLY[version], skipped
    assert all(skipped.values())  # every skip says why
    assert len(checks) >= 40
    for check in checks:
        if check["severity"] == "blocking" and check["id"] not in skipped:
            assert check["outcome"] == "passed", check["id"]


@pytest.mark.slow
def test_reference_target_file_is_ready(tmp_path: Path) -> None:
    """The shipped reference target (all protocols configured), SCIM suite only."""
    text = REFERENCE_TARGET.read_text().replace(
        'pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]'
    )
    target = tmp_path / "target.toml"
    target.write_text(text)
    result = run(target)
    assert_ready(result)
    # Secrets never reach the report.
    assert (
        "reference-scim-token-7f3a9c" not in (tmp_path / "reports" / "readiness.json").read_text()
    )
    # Every exchange carries Okta's User-Agent: the provisioning engine's, or on the SPEC
    # test's steps the SPEC test's (its POSTs carry none, and are sent as application/json).
    exchanges = [
        e for c in result.readiness["checks"] if c["protocol"] == "scim" for e in c["transcript"]
    ]
    ua = {e["request_headers"].get("User-Agent") for e in exchanges}
    assert ua == {"Okta SCIM Client 1.0.0", "OKTA SCIM Integration", None}
    for e in exchanges:
        if e["request_headers"].get("User-Agent") is None:
            assert (e["method"], e["request_headers"]["Content-Type"]) == (
                "POST",
                "application/json",
            ), e
    # The entitlement endpoints were read as Okta's Entitlements test reads them.
    ent = result.check("scim.answers_okta_entitlements_test")
    assert [e["url"].split("/scim/v2", 1)[1] for e in ent["transcript"]] == [
        "/Roles?count=1&startIndex=1",
        "/Entitlements?count=1&startIndex=1",
    ]


#: The Basic run's server holds 150 accounts of its own (Okta's import reads two pages of
#: 100) and rate-limits as Okta expects (BENIGN): still ready, and how it rate-limited is told.
SEEDED = 150


@pytest.mark.slow
def test_reference_server_is_ready_for_1_1_and_every_auth_mode(tmp_path: Path) -> None:
    runs: dict[tuple[str, str], frozenset[str]] = {
        # Whether 1.1 / Basic can go through the OIN Wizard is the submission suite's check.
        ("1.1", "header"): frozenset(),
        ("2.0", "oauth2"): frozenset(),
        ("2.0", "basic"): frozenset(),
    }
    benign = ",".join(BENIGN)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = {}
        for key in runs:
            folder = tmp_path / f"{key[0]}-{key[1]}"
            if key[1] == "basic":
                target = scim_target(folder, *key, benign, accounts=SEEDED)
            else:
                target = scim_target(folder, *key)
            results[key] = pool.submit(run, target)
        for key, advisories in runs.items():
            result = results[key].result()
            assert_ready(result, key[0], advisories)
            text = (tmp_path / f"{key[0]}-{key[1]}" / "reports" / "readiness.json").read_text()
            assert "suite-token-123456" not in text and "suite-secret-123456" not in text
            assert "suite-pass-123456" not in text
    seeded = results[("2.0", "basic")].result()
    # Okta's import paged through the server's own accounts and the run's: 100 at a time.
    pages = [
        e["url"].split("?", 1)[1]
        for e in seeded.check("scim.imports_users_as_okta_pages")["transcript"]
        if e["method"] == "GET" and "/Users?" in e["url"] and "filter" not in e["url"]
    ]
    assert pages == ["startIndex=1&count=100", "startIndex=101&count=100"]
    # The server's 429s were waited out as Okta waits (1 s, then doubled), and reported.
    for check_id in BENIGN.values():
        notes = "\n".join(seeded.check(check_id)["notes"])
        assert "answered 429 2 time(s)" in notes, notes
        assert "Retry-After '1': Okta waits 1 s; the harness waited 1 s" in notes, notes
        assert "Okta waits 2 s (doubled for the 429 before it)" in notes, notes
    first = seeded.check("scim.answers_okta_connection_test")
    assert [e["status"] for e in first["transcript"]][:3] == [429, 429, 200]


#: SCIM 1.1 runs stack independent flaws (distinct checks, no interference) to save runs.
V11_GROUPS = [
    (
        "scim_no_auth",
        "scim_case_sensitive_filter",
        "scim_500_on_unknown_id",
        "scim_rename_ignored",
        "scim_200_on_create",
        "scim_discovery_writable",
        "scim_patch_first_operation_only",
    ),
    (
        "scim_no_409_on_duplicate",
        "scim_deactivate_not_applied",
        "scim_member_removal_not_applied",
        "scim_wrong_total_results",
        "scim_username_case_not_preserved",
        "scim_groups_need_paging",
        "scim_discovery_incomplete",
    ),
    ("scim_short_pages", "scim_rename_conflicts_with_itself"),
]


@pytest.mark.slow
def test_each_flaw_is_caught_by_its_check(tmp_path: Path) -> None:
    """SCIM 2.0: one flaw per run, the whole suite; SCIM 1.1: stacked flaws (but those that
    must run alone, or only show through 2.0)."""
    stackable = [f for f in CAUGHT_BY if f not in RUN_ALONE and ONLY_VERSION.get(f) != "2.0"]
    assert sorted(f for group in V11_GROUPS for f in group) == sorted(stackable)
    cases: list[tuple[tuple[str, ...], str]] = [
        ((flaw,), "2.0") for flaw in CAUGHT_BY if ONLY_VERSION.get(flaw, "2.0") == "2.0"
    ]
    cases += [(group, "1.1") for group in V11_GROUPS]
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {
            (flaws, version): pool.submit(
                run,
                scim_target(
                    tmp_path / f"{flaws[0]}-{version}",
                    version,
                    "bearer",
                    ",".join(flaws),
                    lines="\n".join(TARGET_LINES.get(f, "") for f in flaws),
                ),
            )
            for flaws, version in cases
        }
        missed = {}
        for (flaws, version), future in futures.items():
            result = future.result()
            outcomes = result.outcomes()
            blocking = False
            for flaw in flaws:
                check = CAUGHT_BY[flaw]
                if outcomes.get(check) != "failed":
                    missed[f"{flaw} ({version})"] = outcomes.get(check)
                else:
                    caught = result.check(check)
                    failure = caught["failure"]
                    assert failure["seen"] and failure["expected"] and failure["fix"]
                    blocking |= caught["severity"] == "blocking"
                    if caught["severity"] == "advisory":
                        assert check in result.readiness["advisories"], flaw
            if version == "2.0":
                # One flaw: the checks that fail are its own check and close relatives.
                failed = {c for c, o in outcomes.items() if o in ("failed", "error")}
                assert len(failed) <= 4, (flaws, failed)
            unjudged = [c for f in flaws for c in ALSO_INCONCLUSIVE.get(f, ())]
            for check in unjudged:
                assert outcomes.get(check) == "inconclusive", (flaws, check, outcomes.get(check))
            # Only blocking checks make the protocol not ready (advisory flaws are reported).
            status = "not_ready" if blocking or unjudged else "ready"
            assert result.readiness["protocols"]["scim"]["status"] == status, flaws
            # Planted flaws never stop the run from cleaning up after itself.
            assert outcomes.get("scim.leaves_no_test_data_behind") == "passed", flaws
    assert not missed, missed


@pytest.mark.slow
@pytest.mark.parametrize("flaw", sorted(CONTROL_FLAWS))
def test_refusals_without_a_working_control_are_inconclusive(tmp_path: Path, flaw: str) -> None:
    """SPEC §10: a server that answers 401 to the configured credentials too refuses every
    bad credential — and proves nothing: those checks are inconclusive, never passed."""
    result = run(scim_target(tmp_path / flaw, "2.0", "bearer", flaw))
    outcomes = result.outcomes()
    for check_id in CONTROL_FLAWS[flaw]:
        assert outcomes[check_id] == "inconclusive", (check_id, result.stdout[-2000:])
        assert "proves nothing" in result.check(check_id)["failure"]["title"]
    assert outcomes["scim.answers_okta_connection_test"] == "failed"
    assert result.readiness["protocols"]["scim"]["status"] != "ready"
    assert result.returncode != 0
