"""Okta's provisioning engine as a SCIM client (SCIM 2.0 and 1.1), with a data-safety ledger.

Plain Python (nothing of a run: the session, signals and notices are
:mod:`oin_conformance.wiring.scim`), one job per module: ``common`` (names, limits),
``okta_requests`` (Okta's request bodies), ``auth`` (the four auth modes), ``client`` (the
client and its checked results), ``ledger`` (what the run created, journaled, and its cleanup).

:class:`ScimClient` sends exactly what Okta sends (``shared/reference/scim.md`` §1): the
``Okta SCIM Client 1.0.0`` User-Agent, Accept/Content-Type per SCIM version, ``filter`` first
then ``startIndex``/``count`` in query strings, Okta's request bodies, and the four auth modes.
:class:`Ledger` makes the run safe for the ISV's data: nothing the run did not create is
touched, and what it created is removed.
"""

from oin_conformance.roles.scim.auth import (
    Auth,
)
from oin_conformance.roles.scim.client import (
    ScimClient,
    ScimResult,
    check_payload,
    lift_v1,
)
from oin_conformance.roles.scim.common import (
    CORE_1,
    ENTERPRISE_1,
    ENTERPRISE_URN,
    ERROR_URN,
    GROUP_URN,
    HEADERS,
    LIST_URN,
    OKTA_USER_AGENT,
    PATCH_URN,
    USER_URN,
    Expect,
    Kind,
    ScimClientError,
)
from oin_conformance.roles.scim.ledger import (
    JOURNAL_DIR,
    CleanupReport,
    CleanupStopped,
    Ledger,
    LedgerEntry,
    Shield,
)
from oin_conformance.roles.scim.okta_requests import (
    Person,
    active_patch_body,
    add_members_body,
    create_group_body,
    create_user_body,
    profile_update_body,
    remove_members_body,
    rename_group_body,
    typed_patch,
)

__all__ = [
    "Auth",
    "CORE_1",
    "CleanupReport",
    "CleanupStopped",
    "ENTERPRISE_1",
    "ENTERPRISE_URN",
    "ERROR_URN",
    "Expect",
    "GROUP_URN",
    "HEADERS",
    "JOURNAL_DIR",
    "Kind",
    "LIST_URN",
    "Ledger",
    "LedgerEntry",
    "OKTA_USER_AGENT",
    "PATCH_URN",
    "Person",
    "ScimClient",
    "ScimClientError",
    "ScimResult",
    "Shield",
    "USER_URN",
    "active_patch_body",
    "add_members_body",
    "check_payload",
    "create_group_body",
    "create_user_body",
    "lift_v1",
    "profile_update_body",
    "remove_members_body",
    "rename_group_body",
    "typed_patch",
]
