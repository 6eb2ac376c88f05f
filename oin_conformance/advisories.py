"""Advisory ids a check stands for (CVE, GHSA, OpenID Foundation RP test) and where to read them.

A check names the published advisories whose shape it sends with
``@pytest.mark.oin(..., references=("CVE-2025-47949", "GHSA-r683-v43c-6xqv"))``; the report
links each one. Stdlib only: the runtime, the report and the catalogue all read it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_GHSA = re.compile(r"GHSA(-[23456789cfghjmpqrvwx]{4}){3}")
#: OpenID Foundation certification test ids for relying parties, e.g. ``rp-id_token-sig-none``.
_OIDF = re.compile(r"rp-[a-z0-9_]+(-[a-z0-9_]+)*")

OIDF_RP_TESTS = "https://openid.net/certification/connect_rp_testing/"


@dataclass(frozen=True)
class Advisory:
    id: str
    url: str

    def as_dict(self) -> dict[str, str]:
        return {"id": self.id, "url": self.url}


def advisory(ref: str) -> Advisory:
    """The advisory ``ref`` with its canonical page; ValueError for an id of no known kind."""
    if _CVE.fullmatch(ref):
        return Advisory(ref, f"https://nvd.nist.gov/vuln/detail/{ref}")
    if _GHSA.fullmatch(ref):
        return Advisory(ref, f"https://github.com/advisories/{ref}")
    if _OIDF.fullmatch(ref):
        return Advisory(ref, OIDF_RP_TESTS)
    raise ValueError(
        f"{ref!r} is not an advisory id (CVE-YYYY-NNNN, GHSA-xxxx-xxxx-xxxx or an OpenID "
        "Foundation RP test id such as rp-id_token-sig-none)"
    )


def advisories(refs: Iterable[str]) -> list[Advisory]:
    """Each id once, in the order given, validated."""
    seen: dict[str, Advisory] = {}
    for ref in refs:
        if ref not in seen:
            seen[ref] = advisory(ref)
    return list(seen.values())


__all__ = ["OIDF_RP_TESTS", "Advisory", "advisories", "advisory"]
