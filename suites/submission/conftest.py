"""Fixtures of the submission-material suite."""

from __future__ import annotations

import pytest

from oin_conformance.target import SubmissionTarget, Target


@pytest.fixture
def submission(oin_target: Target) -> SubmissionTarget:
    """The [submission] section; checks skip when the target has none."""
    if oin_target.submission is None:
        pytest.skip("the target has no [submission] section")
    return oin_target.submission
