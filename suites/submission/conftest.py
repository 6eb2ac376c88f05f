"""Fixtures of the submission-material suite."""

from __future__ import annotations

import pytest

from oin_conformance.session_fixtures import configured_section
from oin_conformance.target import SubmissionTarget, Target


@pytest.fixture
def submission(oin_target: Target) -> SubmissionTarget:
    """The [submission] section; checks skip when the target has none."""
    return configured_section(oin_target.submission, "submission")
