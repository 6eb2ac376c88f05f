"""Fixtures of the SCIM suite: the process's SCIM session (credentials, ledger) and a
per-check Okta client whose finalizer cleans up what the check created."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from oin_conformance.runtime import RunContext
from oin_conformance.session_fixtures import configured_section
from oin_conformance.target import ScimTarget, Target
from oin_conformance.transcript import Transcript
from oin_conformance.wiring.scim import ScimSession, session_for

from .okta import ScimCheck

LAST = "test_leaves_no_test_data_behind"
#: Checks that read the traffic of every other SCIM check (timings, 429s): they run after
#: them, just before the data-safety check.
PACING = ("test_rate_limits_as_okta_expects", "test_answers_within_okta_socket_timeout")


@pytest.fixture(scope="session")
def scim_target(oin_target: Target) -> ScimTarget:
    return configured_section(oin_target.scim, "scim")


@pytest.fixture(scope="session")
def scim_session(oin_run: RunContext, scim_target: ScimTarget) -> ScimSession:
    """The run's SCIM session; leftovers of earlier runs are cleaned when it starts."""
    session = session_for(oin_run)
    session.start()
    return session


@pytest.fixture
def scim(
    scim_session: ScimSession,
    scim_target: ScimTarget,
    transcript: Transcript,
    oin_run: RunContext,
    request: pytest.FixtureRequest,
) -> Iterator[ScimCheck]:
    """Okta's provisioning client for this check; what the check created is cleaned after."""
    check_id = request.node.nodeid
    client = scim_session.client(transcript, check=check_id)
    view = ScimCheck(
        client=client,
        session=scim_session,
        target=scim_target,
        rng=oin_run.rng(f"scim:{check_id}"),
        transcript=transcript,
    )
    try:
        yield view
    finally:
        if scim_session.ledger.open_entries(check_id):
            transcript.note("Cleanup: removing what this check created (not part of the check)")
            report = scim_session.clean_after(client, check_id)
            for line in report.text().splitlines():
                transcript.note(f"Cleanup: {line}")
        client.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The pacing checks run after the other SCIM checks (they read their traffic), and the
    data-safety check runs last (it cleans and sweeps after every other check)."""

    def name(item: pytest.Item) -> str:
        return getattr(item, "originalname", item.name)

    pacing = [i for i in items if name(i) in PACING]
    last = [i for i in items if name(i) == LAST]
    if pacing or last:
        items[:] = [i for i in items if i not in pacing and i not in last] + pacing + last
