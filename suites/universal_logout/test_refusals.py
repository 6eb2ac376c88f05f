"""Logout requests Okta never sends: each must be refused and log nobody out.

Requests without the Okta org's valid JWT for this endpoint (attacks/universal_logout.py)
must be refused — 401 or 403 is what Okta reads as an authentication failure — and the test
user must stay signed in: an endpoint that accepts them lets anyone log any user out.
Malformed bodies and users the app does not know must be answered with the status Okta
reads (400, 404); those are advisory, since only Okta's own signed requests can carry them.
"""

from __future__ import annotations

import pytest

from oin_conformance.attacks.universal_logout import (
    ATTACKS,
    AUTH_FIX,
    MALFORMED,
    LogoutAttack,
    MalformedBody,
)
from oin_conformance.failures import fail

from .flow import AUTH_STATUSES, LogoutCheck


@pytest.mark.parametrize("attack", [pytest.param(a, id=a.name) for a in ATTACKS.values()])
@pytest.mark.oin(requirement="UL-AUTHENTICATION", severity="blocking")
def test_refuses_unauthenticated_request(ul: LogoutCheck, attack: LogoutAttack) -> None:
    """A logout request without a valid JWT from the Okta org for this endpoint is refused
    and logs nobody out."""
    a = ul.attempt(lambda via: ul.hostile(via, ul.formats[0], attack))
    if 200 <= a.answer.status < 300 or not a.signed_in:
        what = "logs the user out" if not a.signed_in else f"answers HTTP {a.answer.status}"
        raise fail(
            f"The app accepts {attack.title}: it {what}",
            seen=ul.seen(a.request, a.answer, a.probe)
            + ("" if a.signed_in else f"\n{ul.user()['username']} is no longer signed in."),
            expected=f"HTTP {' or '.join(map(str, AUTH_STATUSES))}, and the test user still "
            "signed in",
            fix=f"{attack.fix} {AUTH_FIX.format(jwks=ul.signer(a.via).jwks_uri)} Risk while "
            f"this is open: {attack.risk}.",
        )
    if a.answer.status not in AUTH_STATUSES:
        ul.transcript.note(
            f"Refused with HTTP {a.answer.status}; Okta reads 401 or 403 as an authentication "
            "failure (any other status still leaves the user signed in)"
        )


@pytest.mark.parametrize("body", [pytest.param(m, id=m.name) for m in MALFORMED.values()])
@pytest.mark.oin(requirement="UL-RESPONSES", severity="advisory")
def test_refuses_malformed_request(ul: LogoutCheck, body: MalformedBody) -> None:
    """A signed logout request whose body is malformed (not JSON, no sub_id, an unknown
    subject format) is answered 400 and logs nobody out."""
    label = f"malformed logout request: {body.title}"
    a = ul.attempt(lambda via: ul.genuine(via, ul.formats[0], body=body.body, label=label))
    if a.answer.status != 400 or not a.signed_in:
        raise fail(
            f"The app answers HTTP {a.answer.status} to {body.title}"
            + ("" if a.signed_in else " and logs the user out"),
            seen=ul.seen(a.request, a.answer, a.probe),
            expected="HTTP 400 (malformed request or unrecognized subject format), and the "
            "test user still signed in",
            fix='Parse the JSON body and its "sub_id" object (format "email" or "iss_sub") '
            "after checking the JWT, and answer 400 when it is missing, not JSON, or of a "
            "format the app does not support; never log anyone out then.",
        )


@pytest.mark.oin(requirement="UL-RESPONSES", severity="advisory")
def test_answers_404_for_an_unknown_user(ul: LogoutCheck) -> None:
    """A signed logout request naming a user the app does not know is answered 404 and logs
    nobody out."""
    fmt = ul.formats[0]
    a = ul.attempt(
        lambda via: ul.genuine(
            via,
            fmt,
            sub_id=ul.unknown_sub_id(via, fmt),
            label="logout request for a user the app does not know",
        )
    )
    if a.answer.status != 404 or not a.signed_in:
        raise fail(
            f"The app answers HTTP {a.answer.status} for a user it does not know"
            + ("" if a.signed_in else " and logs the test user out"),
            seen=ul.seen(a.request, a.answer, a.probe),
            expected="HTTP 404 (user not found): Okta reports it to the admin; 204 would "
            "say the user was logged out",
            fix="Look the user up by the subject Okta sends (the e-mail address as a whole "
            "value, or the app's user id for iss_sub) and answer 404 when there is none.",
        )
