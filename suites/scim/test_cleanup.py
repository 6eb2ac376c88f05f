"""Data safety: everything the run created is cleaned up (runs after every other check).

Under pytest-xdist this check runs on one worker and sees that worker's ledger only; the
controller decides it for the whole run once every worker has finished, from every
worker's journal (:mod:`oin_conformance.wiring.scim_workers`)."""

from __future__ import annotations

import pytest

from oin_conformance.failures import fail
from oin_conformance.transcript import Transcript
from oin_conformance.wiring.scim import ScimSession

from .conftest import LAST


@pytest.mark.oin(requirement="SCIM-DATA-SAFETY", severity="advisory")
def test_leaves_no_test_data_behind(scim_session: ScimSession, transcript: Transcript) -> None:
    """Every user and group the run created (under its prefix) is deleted or deactivated."""
    assert LAST == "test_leaves_no_test_data_behind"
    report = scim_session.cleanup(transcript)
    earlier = scim_session.previous_runs
    for line in earlier.deleted:
        transcript.note(f"Cleaned up from an earlier run: {line}")
    for line in report.deactivated + earlier.deactivated:
        transcript.note(f"Only deactivated (the server refused DELETE): {line}")
    left = report.left + earlier.left
    if left:
        raise fail(
            "Test users or groups could not be cleaned up",
            seen="\n".join(left),
            expected=f"nothing left under the prefix {scim_session.ledger.prefix!r}",
            fix="Delete these by hand, or let the next run retry (they are listed in "
            f"{scim_session.journal_dir}); make DELETE /Groups/{{id}} and deactivation work.",
        )
