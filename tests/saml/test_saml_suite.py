"""The SAML suite against real software: the reference SP (python3-saml, strict) passes every
check, each planted flaw is caught by exactly the checks meant for it, and a second SP built
on pysaml2 passes every blocking check."""

from __future__ import annotations

import concurrent.futures as cf
import re
import shutil
from pathlib import Path

import pytest

from fixtures.reference_app.flaws_saml import FLAWS
from oin_conformance.attacks.saml import names as attack_names
from tests.conftest import FIXTURES, REFERENCE_TARGET, PluginRun, once_per_session, run_plugin

H = "saml.refuses_hostile_response"
#: Any signature by the IdP's key vouches for the message (a signed LogoutResponse or signed
#: metadata carried inside it): every validator that verifies "a" signature and reads the
#: Response's assertion falls for them, whatever Okta signs.
ANY_SIGNED = {f"{H}[signed_logout_response_reuse]", f"{H}[signed_metadata_reuse]"}
#: ... and with a signed Assertion: an unsigned one before it, or one with the same ID.
FIRST_READ = {f"{H}[extra_unsigned_assertion_before]", f"{H}[duplicate_ids]", *ANY_SIGNED}
#: flaw -> the checks that must fail (and no others).
EXPECTED: dict[str, set[str]] = {
    "signature_optional": {f"{H}[unsigned]", f"{H}[stripped_signature]"},
    # It fetches the external entity and expands every entity, so a DOCTYPE survives too.
    "resolves_entities": {
        f"{H}[dtd_external_entity]",
        f"{H}[dtd_internal_entity]",
        f"{H}[doctype_only]",
    },
    "expands_entities": {f"{H}[dtd_internal_entity]", f"{H}[doctype_only]"},
    # Okta signs both: the classic shapes keep the Response signature (its digest fails);
    # with it removed, the first signature is the genuine Assertion's.
    "first_signature_first_assertion": {
        *(f"{H}[xsw{i}_without_response_signature]" for i in range(3, 9)),
        *FIRST_READ,
    },
    # Refuses everything: every refusal is inconclusive (see its own test), only the
    # positive sign-ins fail.
    "acs_answers_500": {
        "saml.signs_in_with_idp_initiated_sso",
        "saml.signs_in_with_idp_initiated_sso_and_relay_state",
        "saml.signs_in_with_sp_initiated_sso",
        "saml.signs_in_without_optional_attributes",
        "saml.jit_creates_an_unknown_user",
        "saml.jit_creates_an_unknown_user_with_sp_initiated_sso",
    },
    "trusts_keyinfo": {f"{H}[untrusted_key]", f"{H}[cloned_certificate]"},
    # Wrapping needs a signature that does not cover the whole Response: "flaw@sign" runs
    # the flaw with Okta signing only the assertion / only the response.
    # signxml verifies the first signature it finds, whatever it covers (also the genuine
    # Assertion whose SignedInfo signed_info_in_object keeps, its copy in Extensions).
    "homegrown_wrapping@assertion": {
        f"{H}[xsw3]",
        f"{H}[xsw4]",
        f"{H}[xsw5]",
        f"{H}[extra_unsigned_assertion_before]",
        f"{H}[signed_info_in_object]",
        *ANY_SIGNED,
    },
    "homegrown_wrapping@response": {
        f"{H}[xsw2]",
        f"{H}[signed_response_nested]",
        f"{H}[signed_response_nested_first_signature]",
        *ANY_SIGNED,
    },
    # Verifies the element the Reference names, reads another: XSW6-XSW8 need the first
    # Assertion in document order, XSW1 the Response's own Assertion child.
    "follows_reference_reads_first_assertion@assertion": {
        *(f"{H}[xsw{i}]" for i in range(3, 9)),
        *FIRST_READ,
    },
    "follows_reference_reads_response_assertion@response": {
        f"{H}[xsw1]",
        f"{H}[xsw2]",
        f"{H}[signed_response_nested]",
        *ANY_SIGNED,
    },
    # Verifies only the first signature inside the Response (pysaml2 < 6.5 and xmlsec1
    # --node-id, CVE-2021-21238): a nested genuine Response vouches for the outer one.
    "first_signature_reads_response_assertion@response": {
        f"{H}[xsw1]",
        f"{H}[xsw2]",
        f"{H}[signed_response_nested]",
        f"{H}[signed_response_nested_first_signature]",
        *ANY_SIGNED,
    },
    # ... whose enveloped transform drops the first Signature of the referenced element
    # (xml-crypto): the genuine Response hidden in an Advice verifies for the outer one.
    "enveloped_drops_first_signature@response": {
        f"{H}[xsw1]",
        f"{H}[xsw2]",
        f"{H}[signed_response_nested]",
        f"{H}[response_in_advice]",
        *ANY_SIGNED,
    },
    # ... with the References of every SignedInfo in the Signature (xml-crypto 6.0.0); an
    # Assertion-only signature: XSW7 hides its copy where the Response's child is not.
    "references_from_every_signed_info@assertion": {
        *(f"{H}[xsw{i}]" for i in (3, 4, 5, 6, 8)),
        *FIRST_READ,
        f"{H}[second_signed_info]",
        f"{H}[signed_info_in_object]",
        f"{H}[several_references]",
    },
    "algorithm_from_document": {f"{H}[hmac_key_confusion]"},
    "algorithm_from_document_base64": {f"{H}[hmac_key_confusion_base64]"},
    "algorithm_from_document_der": {f"{H}[hmac_key_confusion_der]"},
    "algorithm_from_document_public_key": {f"{H}[hmac_key_confusion_public_key]"},
    "key_from_keyinfo": {f"{H}[keyvalue_key]", f"{H}[hmac_key_in_message]"},
    "digest_first_child": {f"{H}[comment_in_digest_value]"},
    "digest_looked_up_document_wide": {f"{H}[digest_document_wide]"},
    # Not comparing digests at all lets every edit of signed content through.
    "skips_digests": {
        f"{H}[tampered_after_signing]",
        f"{H}[comment_in_digest_value]",
        f"{H}[digest_document_wide]",
        f"{H}[pi_in_nameid]",
    },
    "pi_as_text": {f"{H}[pi_in_nameid]"},
    "reads_last_assertion@assertion": {f"{H}[extra_unsigned_assertion_after]"},
    "several_roots_first_signed": {f"{H}[several_roots]"},
    "comment_truncation": {f"{H}[comment_in_nameid]"},
    # python3-saml's default: the transforms and References the signer chose (advisory).
    "any_signature_shape": {
        f"{H}[several_references]",
        f"{H}[xslt_transform]",
        f"{H}[xpath_filter_transform]",
    },
    "ignores_expiry": {f"{H}[expired]", f"{H}[not_yet_valid]"},
    "ignores_audience": {f"{H}[wrong_audience]"},
    # python3-saml reports a missing bearer confirmation with the same error code.
    "ignores_recipient": {
        f"{H}[wrong_recipient]",
        f"{H}[lookalike_recipient]",
        f"{H}[no_bearer_confirmation]",
    },
    "ignores_destination": {f"{H}[wrong_destination]", f"{H}[lookalike_destination]"},
    "ignores_issuer": {f"{H}[wrong_issuer]"},
    "issuer_optional": {f"{H}[missing_issuer]"},
    # Another org's response is the attack; a wrong Issuer with the right key is the same
    # hole (an IdP the app has no tenant for is trusted), so both checks fail.
    "trusts_any_issuer": {f"{H}[other_tenant]", f"{H}[wrong_issuer]"},
    "ignores_status": {f"{H}[non_success_status]"},
    "substring_url_checks": {f"{H}[lookalike_recipient]", f"{H}[lookalike_destination]"},
    "no_replay_cache": {f"{H}[replay]"},
    "accepts_sha1": {f"{H}[sha1_signature]"},
    "ignores_in_response_to": {f"{H}[unknown_in_response_to]"},
    "open_redirect": {f"{H}[relay_state_open_redirect]", f"{H}[relay_state_protocol_relative]"},
}

#: The hand-rolled flaws added with the advisory-named attacks: their runs are restricted to
#: the hostile-response checks (the sign-in checks pass, as in every other flaw's run).
HOSTILE_ONLY = {
    "enveloped_drops_first_signature",
    "first_signature_reads_response_assertion",
    "references_from_every_signed_info",
    "algorithm_from_document_base64",
    "algorithm_from_document_der",
    "algorithm_from_document_public_key",
    "key_from_keyinfo",
    "digest_looked_up_document_wide",
    "pi_as_text",
    "reads_last_assertion",
    "several_roots_first_signed",
    "any_signature_shape",
}

#: clean runs (Okta signs both / only the assertion / only the response) -> skipped checks
UNWRAPPED = {f"{H}[xsw{i}_without_response_signature]" for i in range(3, 9)}
#: Attacks on a signed Assertion / a signed Response beside the XSW variants.
NEEDS_ASSERTION = {
    f"{H}[{name}]"
    for name in (
        "extra_unsigned_assertion_before",
        "extra_unsigned_assertion_after",
        "duplicate_ids",
        "several_roots",
        "second_signed_info",
        "signed_info_in_object",
        "digest_document_wide",
    )
}
NEEDS_RESPONSE = {
    f"{H}[signed_response_nested]",
    f"{H}[signed_response_nested_first_signature]",
    f"{H}[response_in_advice]",
}
CLEAN: dict[str, set[str]] = {
    "clean": set(),
    "clean@assertion": {f"{H}[xsw1]", f"{H}[xsw2]", *UNWRAPPED, *NEEDS_RESPONSE},
    "clean@response": {f"{H}[xsw{i}]" for i in range(3, 9)} | UNWRAPPED | NEEDS_ASSERTION,
}
PYSAML2_TARGET = FIXTURES / "pysaml2_sp" / "target.toml"
#: pysaml2 7.5's true findings, all advisory per SPEC §4: it accepts rsa-sha1 signatures
#: by default, with ``allow_unsolicited`` (needed for IdP-initiated sign-in) it accepts a
#: response whose InResponseTo names a request it never sent, and its parser (defusedxml
#: with DTDs allowed, entities forbidden) accepts a bare DOCTYPE.
PYSAML2_FINDINGS = {
    f"{H}[sha1_signature]",
    f"{H}[unknown_in_response_to]",
    f"{H}[doctype_only]",
}
HAVE_XMLSEC1 = shutil.which("xmlsec1") is not None


def saml_only(text: str) -> str:
    """The target without other protocols' sections (their roles need not start)."""
    keep, out = True, []
    for line in text.splitlines():
        if line.startswith("["):
            name = line.strip("[] ").split(".")[0]
            keep = name in {"app", "harness", "saml"}
        if keep:
            out.append(line)
    return "\n".join(out) + "\n"


def variant(
    folder: Path,
    *,
    flaw: str | None = None,
    sign: str | None = None,
    source: Path = REFERENCE_TARGET,
) -> Path:
    """A fixture target runnable from ``folder``, optionally with one flaw planted."""
    text = saml_only(source.read_text())
    text = text.replace('pythonpath = [".."]', f'pythonpath = ["{FIXTURES}"]')
    text = text.replace('state_dir = ".oin-state"', f'state_dir = "{folder.parent / "state"}"')
    if flaw:
        text = text.replace(
            "[app.test_user]", f'[app.serve_options]\nflaw = "{flaw}"\n\n[app.test_user]'
        )
    if sign:
        text = text.replace('sign = "both"', f'sign = "{sign}"')
    folder.mkdir(parents=True)
    path = folder / "target.toml"
    path.write_text(text)
    return path


def run(folder: Path, target: Path, *extra: str) -> PluginRun:
    return run_plugin(f"--oin-target={target}", "-m", "saml", *extra, cwd=folder)


def failed(result: PluginRun) -> set[str]:
    return {c["id"] for c in result.readiness["checks"] if c["outcome"] == "failed"}


def with_outcome(result: PluginRun, outcome: str) -> set[str]:
    return {c["id"] for c in result.readiness["checks"] if c["outcome"] == outcome}


def _all_runs(base: Path) -> dict[str, PluginRun]:
    """One plugin run per flaw, the clean app (both signing modes) and pysaml2, 2 at a time."""
    jobs: dict[str, tuple[Path, Path]] = {}
    extra: dict[str, tuple[str, ...]] = {}
    for name in [*CLEAN, *EXPECTED]:
        flaw, _, sign = name.partition("@")
        folder = base / name
        planted = None if flaw == "clean" else flaw
        jobs[name] = (folder, variant(folder, flaw=planted, sign=sign or None))
        if flaw in HOSTILE_ONLY:
            extra[name] = ("--oin-check", f"{H}[*]")
    if HAVE_XMLSEC1:
        folder = base / "pysaml2"
        jobs["pysaml2"] = (folder, variant(folder, source=PYSAML2_TARGET))
    with cf.ThreadPoolExecutor(2) as pool:
        futures = {name: pool.submit(run, *job, *extra.get(name, ())) for name, job in jobs.items()}
        results = {name: f.result() for name, f in futures.items()}
    return results


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, PluginRun]:
    """The plugin runs, made once even when xdist spreads these tests over workers: the
    first worker to create the shared folder runs them, the others wait for its result."""
    return once_per_session(tmp_path_factory, "saml-runs", _all_runs)


@pytest.mark.slow
@pytest.mark.parametrize("name", CLEAN)
def test_reference_sp_passes_every_saml_check(runs: dict[str, PluginRun], name: str) -> None:
    result = runs[name]
    outcomes = result.outcomes()
    assert outcomes, result.stdout[-3000:]
    assert failed(result) == set(), result.stdout[-3000:]
    assert re.search(r"^saml +ready ", result.stdout, re.M)
    assert result.returncode == 0
    skipped = {k for k, v in outcomes.items() if v == "skipped"}
    # Wrapping variants that need the signature Okta does not make are skipped.
    assert skipped == CLEAN[name]
    # Eight sign-in checks, and one check per attack of the catalogue.
    assert len(outcomes) == 8 + len(attack_names())


def test_every_attack_has_a_planted_flaw_that_proves_its_check_can_fail() -> None:
    """Each attack of the catalogue is failed by at least one flawed variant above."""
    proven = set().union(*EXPECTED.values())
    assert {f"{H}[{name}]" for name in attack_names()} - proven == set()
    assert set(FLAWS) - {"none"} == {name.partition("@")[0] for name in EXPECTED}


@pytest.mark.slow
@pytest.mark.parametrize("flaw", sorted(EXPECTED))
def test_each_flaw_is_caught_by_its_check(runs: dict[str, PluginRun], flaw: str) -> None:
    result = runs[flaw]
    assert failed(result) == EXPECTED[flaw], result.stdout[-3000:]
    for check_id in EXPECTED[flaw]:
        assert runs["clean"].outcomes()[check_id] == "passed"
    blocking = any(result.check(c)["severity"] == "blocking" for c in EXPECTED[flaw])
    assert (result.returncode != 0) == blocking


@pytest.mark.slow
def test_an_acs_that_answers_500_proves_no_refusal(runs: dict[str, PluginRun]) -> None:
    """SPEC §10: a refusal counts only where a genuine response signs in on the same path.
    An SP whose ACS crashes on every POST refuses every forgery — and proves nothing."""
    result = runs["acs_answers_500"]
    hostile = {c for c in result.outcomes() if c.startswith(H)}
    inconclusive = with_outcome(result, "inconclusive")
    assert hostile and hostile <= inconclusive, result.stdout[-3000:]
    check = result.check(f"{H}[xsw3]")
    assert "No genuine response signs in" in check["failure"]["title"]
    assert "HTTP 500" in check["failure"]["seen"]
    assert result.returncode != 0
    assert result.readiness["protocols"]["saml"]["status"] != "ready"


@pytest.mark.slow
def test_forgeries_carry_the_attackers_own_identity(runs: dict[str, PluginRun]) -> None:
    """A forgery starts from the attacker's genuine response: their NameID and attributes;
    the transcript says exactly what was signed and what was changed."""
    notes = "\n".join(runs["clean"].check(f"{H}[xsw3]")["notes"])
    assert "attacker's own account (NameID 'mallory@example.com', attributes" in notes
    assert "email=mallory@example.com" in notes and "firstName=Mallory" in notes
    assert "to name the victim (NameID 'ada@example.com'" in notes
    notes = "\n".join(runs["clean"].check(f"{H}[comment_in_nameid]")["notes"])
    assert "NameID 'ada@example.com.evil.test'" in notes
    assert "email=ada@example.com.evil.test" in notes


@pytest.mark.slow
def test_failure_shows_the_decoded_response_and_what_the_app_did(
    runs: dict[str, PluginRun],
) -> None:
    check = runs["trusts_keyinfo"].check(f"{H}[untrusted_key]")
    failure = check["failure"]
    assert "SAML Response sent (decoded;" in failure["seen"]
    assert "<saml2p:Response" in failure["seen"] and "<ds:X509Certificate>" in failure["seen"]
    assert ">ada@example.com</saml2:NameID>" in failure["seen"]
    assert "signed-in probe" in failure["seen"]
    assert "IdP certificate configured in the app" in failure["fix"]
    posts = [e for e in check["transcript"] if e["method"] == "POST"]
    assert posts and "SAML Response" in posts[0]["decoded"]
    assert check["severity"] == "blocking" and check["requirement"] == "SAML-SIGNATURE"


@pytest.mark.slow
def test_xxe_is_proven_by_the_loopback_canary(runs: dict[str, PluginRun]) -> None:
    check = runs["resolves_entities"].check(f"{H}[dtd_external_entity]")
    assert check["failure"]["title"].startswith("The app fetched an external entity")
    assert (
        "canary" in check["failure"]["seen"]
        and "<!DOCTYPE saml2p:Response" in check["failure"]["seen"]
    )


@pytest.mark.slow
def test_sp_initiated_transcript_shows_the_authn_request(runs: dict[str, PluginRun]) -> None:
    check = runs["clean"].check("saml.signs_in_with_sp_initiated_sso")
    notes = "\n".join(check["notes"])
    assert "AuthnRequest received (HTTP-Redirect, signature valid (SP metadata cert))" in notes
    assert "<samlp:AuthnRequest" in notes
    posts = [e for e in check["transcript"] if e["method"] == "POST"]
    assert "InResponseTo=" in posts[0]["decoded"]["SAML Response"]
    # The SP's metadata (its signing certificate) is read once per process, not per check.
    reads = [
        e
        for c in runs["clean"].readiness["checks"]
        for e in c["transcript"]
        if e.get("note") == "SP metadata"
    ]
    assert len(reads) == 1, [e["url"] for e in reads]
    assert any(
        "read earlier in this run" in n
        for c in runs["clean"].readiness["checks"]
        for n in c["notes"]
    )


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_XMLSEC1, reason="pysaml2 needs the xmlsec1 binary")
def test_second_real_sp_pysaml2_passes_every_blocking_check(runs: dict[str, PluginRun]) -> None:
    """pysaml2 is a second, independent SP. Its true findings are advisories only (see
    PYSAML2_FINDINGS)."""
    result = runs["pysaml2"]
    assert result.outcomes(), result.stdout[-3000:]
    assert failed(result) == PYSAML2_FINDINGS, result.stdout[-3000:]
    assert all(result.check(c)["severity"] == "advisory" for c in failed(result))
    assert result.returncode == 0
    assert re.search(r"^saml +ready ", result.stdout, re.M)
    # pysaml2 sends its AuthnRequest with the HTTP-POST binding, signed (enveloped).
    notes = "\n".join(result.check("saml.signs_in_with_sp_initiated_sso")["notes"])
    assert "AuthnRequest received (HTTP-POST, signature valid (SP metadata cert))" in notes
