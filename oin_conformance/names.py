"""The names every layer shares: the protocols (in report order) and the severities.

A leaf module (standard library only), so that the plugin, the runtime and the report can all
use it without importing each other.
"""

from __future__ import annotations

PROTOCOLS = ("general", "saml", "oidc", "scim", "universal_logout", "submission")
SEVERITIES = ("blocking", "advisory")
