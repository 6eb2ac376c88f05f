"""Who is signed in: the one verdict every sign-in check uses (SPEC §4 "Verdicts").

GET the probe URL with the check's browser (its cookies are the session); the user is signed
in when the status is the probe's and the body names that user (``contains`` templated with
the user's fields). Never judged by the status of the sign-in response itself.
"""

from __future__ import annotations

from collections.abc import Callable

from oin_conformance.roles.browser import Browser, Page
from oin_conformance.target import SignedInProbe


def signed_in_as(
    browser: Browser,
    url: Callable[[str], str],
    probe: SignedInProbe,
    user: dict[str, str],
) -> tuple[bool, Page]:
    """(is ``user`` signed in, the probe page). ``url`` makes configured paths absolute."""
    page = browser.get(url(probe.url), note="signed-in probe")
    ok = page.status == probe.status and probe.expected_text(user) in page.text
    return ok, page
