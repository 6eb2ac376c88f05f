"""The OIDC role: an Okta **org** authorization server on loopback (authlib behind a thin
werkzeug adapter).

* :mod:`.okta_shape` — what makes it look like Okta: discovery, claim shapes, error bodies
  and wording (facts: ``shared/reference/oidc.md``);
* :mod:`.tokens` — signing keys (thumbprint kids, rotation), token minting, the forgery
  hook the attacks use (:data:`Mutator`, :class:`TokenParts`);
* :mod:`.provider` — authlib's authorization server set up as Okta's (code grant, PKCE,
  OpenID Connect, client assertions, userinfo, revoke, introspect, logout);
* :mod:`.adapter` — :class:`OktaOrgOP`, the thin werkzeug adapter that serves it on
  loopback, records what the app did and takes per-check behaviour;
* :mod:`.attacker_site` — :class:`AttackerSite`, the attacker's own loopback web site where
  a forged token's ``jku`` / ``x5u`` point (it records whether the app fetched them).

No pytest and no run wiring here (:mod:`oin_conformance.wiring.oidc` makes the run's OP).
"""

from oin_conformance.roles.oidc.adapter import Observation, OktaOrgOP, OPError
from oin_conformance.roles.oidc.attacker_site import AttackerSite, Fetch
from oin_conformance.roles.oidc.okta_shape import OktaUser, SignedIn, okta_user_id
from oin_conformance.roles.oidc.provider import UNSET, AuthServer, Behaviour
from oin_conformance.roles.oidc.tokens import (
    Mutator,
    TokenParts,
    decode_unverified,
    describe_token,
    sign_jws,
)

__all__ = [
    "UNSET",
    "AttackerSite",
    "AuthServer",
    "Behaviour",
    "Fetch",
    "Mutator",
    "OPError",
    "Observation",
    "OktaOrgOP",
    "OktaUser",
    "SignedIn",
    "TokenParts",
    "decode_unverified",
    "describe_token",
    "okta_user_id",
    "sign_jws",
]
