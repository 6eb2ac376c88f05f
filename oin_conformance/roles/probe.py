"""Who is signed in: the one verdict every sign-in check uses (SPEC §4 "Verdicts", §10
"Probes").

GET the probe URL with the check's browser (its cookies are the session); the user is signed
in when the status is the probe's and the page names *that* user as a whole value:
``ada@example.com`` is not found in ``ada@example.com.evil.test``. The probe runs with the
browser's probing guard on, so the harness's own OP and IdP never sign anyone in while it
asks (a redirect or auto-posting form into them ends the probe as "not signed in"). Never
judged by the status of the sign-in response itself.

One round trip is saved where it changes nothing: when the sign-in itself ended on the probe
URL (the app redirected the browser there, as many apps do after sign-in), that last page
*is* the answer the probe would get — the same GET with the same cookies — provided it is
final (no redirect, auto-posting form or meta refresh left that a probe would have to stop
at). The caller passes it as ``landing``; it is read once, right after the sign-in, never
after anything else happened (a logout request, another sign-in).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from oin_conformance.roles.browser import Browser, Page, find_autopost_form, meta_refresh
from oin_conformance.target import SignedInProbe

#: Characters that continue an identity (an e-mail address, a user name) on either side.
_IDENT = re.compile(r"[\w@+\-]")


def _continues(ch: str, after: str = "") -> bool:
    """Whether ``ch`` (followed by ``after``) extends a value that stops before it."""
    if _IDENT.match(ch):
        return True
    # "ada@example.com." ends a sentence; "ada@example.com.evil.test" goes on.
    return ch in ".'" and bool(after) and _IDENT.match(after) is not None


def whole_value_in(value: str, text: str) -> bool:
    """``value`` occurs in ``text`` and is not part of a longer identity there."""
    if not value:
        return False
    start = 0
    while (i := text.find(value, start)) != -1:
        j = i + len(value)
        before_ok = i == 0 or not _IDENT.match(value[0]) or not _continues(text[i - 1])
        after_ok = (
            j >= len(text)
            or not _IDENT.match(value[-1])
            or not _continues(text[j], text[j + 1 : j + 2])
        )
        if before_ok and after_ok:
            return True
        start = i + 1
    return False


def json_pointer(doc: object, pointer: str) -> object:
    """RFC 6901: the value at ``pointer`` in ``doc`` (KeyError / IndexError if absent)."""
    if pointer in ("", "/"):
        return doc
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(doc, list):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc[part]
        else:
            raise KeyError(part)
    return doc


def identity_shown(probe: SignedInProbe, text: str) -> list[str]:
    """The identity values the probe page shows (pattern / JSON pointer), if so configured."""
    if probe.json_pointer is not None:
        try:
            value = json_pointer(json.loads(text), probe.json_pointer)
        except (ValueError, KeyError, IndexError, TypeError, RecursionError):
            return []
        return [str(value)] if isinstance(value, str | int) else []
    if probe.pattern is not None:
        return [m.group(1) for m in re.finditer(probe.pattern, text)]
    return []


def names_user(probe: SignedInProbe, text: str, user: dict[str, str]) -> bool:
    """Whether ``text`` (the probe page) names ``user`` as a whole value."""
    expected = probe.expected_text(user)
    if probe.json_pointer is not None or probe.pattern is not None:
        return expected in identity_shown(probe, text)
    return whole_value_in(expected, text)


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def is_probe_answer(page: Page | None, probe_url: str) -> bool:
    """Whether ``page`` (where a sign-in ended) is what a probe of ``probe_url`` would read:
    a GET of exactly that URL, answered without a redirect, and with no auto-posting form
    or meta refresh that a probe would have had to follow or stop at."""
    if page is None or page.method != "GET" or page.entered_harness or page.blocked_redirect:
        return False
    if _without_fragment(page.url) != _without_fragment(probe_url):
        return False
    if 300 <= page.status < 400:
        return False
    return (
        meta_refresh(page.text, page.url) is None
        and find_autopost_form(page.text, page.url) is None
    )


def signed_in_as(
    browser: Browser,
    url: Callable[[str], str],
    probe: SignedInProbe,
    user: dict[str, str],
    landing: Page | None = None,
) -> tuple[bool, Page]:
    """(is ``user`` signed in, the probe page). ``url`` makes configured paths absolute.

    ``landing``: the page the sign-in just ended on, read as the probe's answer when it is
    one (:func:`is_probe_answer`) instead of asking again."""
    target = url(probe.url)
    if is_probe_answer(landing, target):
        assert landing is not None
        browser.transcript.label_last(
            "GET", landing.url, "signed-in probe (the sign-in ended here: read as the probe)"
        )
        browser.transcript.note(
            f"Signed-in probe: the sign-in ended on the probe URL (GET {target}, HTTP "
            f"{landing.status}); that answer is the probe's, read without a second request"
        )
        return landing.status == probe.status and names_user(probe, landing.text, user), landing
    with browser.probing():
        page = browser.get(target, note="signed-in probe")
    if page.entered_harness:
        return False, page
    return page.status == probe.status and names_user(probe, page.text, user), page
