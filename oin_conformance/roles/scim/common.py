"""Names Okta's provisioning client uses (URNs, headers, limits) and the client's error."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    pass


OKTA_USER_AGENT = "Okta SCIM Client 1.0.0"

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
CORE_1 = "urn:scim:schemas:core:1.0"
ENTERPRISE_1 = "urn:scim:schemas:extension:enterprise:1.0"

Kind = Literal["User", "Group"]
Expect = Literal["user", "group", "users", "groups", "none"]

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
MAX_BODY = 2 * 1024 * 1024
#: An OAuth 2 token response is a few hundred bytes.
MAX_TOKEN_BODY = 64 * 1024


class ScimClientError(Exception):
    """The client refused to do something (e.g. touch a resource the run did not create)."""
