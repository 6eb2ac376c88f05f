"""Names Okta's provisioning client uses (URNs, headers, limits) and the client's error."""

from __future__ import annotations

from typing import Literal

OKTA_USER_AGENT = "Okta SCIM Client 1.0.0"

Kind = Literal["User", "Group"]
Expect = Literal["user", "group", "users", "groups", "none"]

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE_1 = "urn:scim:schemas:core:1.0"
ENTERPRISE_1 = "urn:scim:schemas:extension:enterprise:1.0"

#: Headers Okta's provisioning engine sends, per SCIM version (reference §1.1).
HEADERS: dict[str, dict[str, str]] = {
    "2.0": {
        "Accept": "application/scim+json",
        "Accept-Charset": "utf-8",
        "Accept-Encoding": "gzip,deflate",
        "User-Agent": OKTA_USER_AGENT,
    },
    "1.1": {
        "Accept": "application/json",
        "Accept-Charset": "utf-8",
        "Accept-Encoding": "gzip,deflate",
        "User-Agent": OKTA_USER_AGENT,
    },
}
BODY_CONTENT_TYPE = {
    "2.0": "application/scim+json; charset=utf-8",
    "1.1": "application/json; charset=utf-8",
}

#: Who sends a request: Okta's provisioning engine ("engine"), or Okta's Runscope SPEC test
#: ("spec", the steps an ISV runs before submitting), which sends other headers.
Profile = Literal["engine", "spec"]
#: The User-Agent of Okta's SCIM SPEC test (not the provisioning engine's).
SPEC_USER_AGENT = "OKTA SCIM Integration"
#: Headers of Okta's SPEC test (reference §2.1, §2.2): SCIM 2.0 GETs carry a Content-Type
#: (and no body); its two POSTs send ``application/json`` and no User-Agent (None).
SPEC_HEADERS: dict[tuple[str, str], dict[str, str | None]] = {
    ("2.0", "GET"): {
        "Accept": "application/scim+json",
        "Accept-Charset": "utf-8",
        "Content-Type": "application/scim+json; charset=utf-8",
        "User-Agent": SPEC_USER_AGENT,
    },
    ("2.0", "POST"): {
        "Content-Type": "application/json",
        "Accept": "application/scim+json; charset=utf-8",
        "User-Agent": None,
    },
    ("1.1", "GET"): {
        "Accept": "application/json",
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": SPEC_USER_AGENT,
    },
    ("1.1", "POST"): {
        "Accept": "application/json",
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": SPEC_USER_AGENT,
    },
}

#: Okta's connection test ("Test API Credentials"): the same two reads every time (§1.3).
CONNECTION_TEST: tuple[tuple[Kind, int, int], ...] = (("User", 1, 2), ("Group", 1, 100))
#: Okta's import reads pages of 100 and advances startIndex by 100 (reference §1.3 step 2).
IMPORT_PAGE_SIZE = 100
#: Okta closes the socket when a SCIM server takes longer than this to answer (seconds).
OKTA_SOCKET_TIMEOUT = 60.0
MAX_BODY = 2 * 1024 * 1024
#: An OAuth 2 token response is a few hundred bytes.
MAX_TOKEN_BODY = 64 * 1024


class ScimClientError(Exception):
    """The client refused to do something (e.g. touch a resource the run did not create)."""
