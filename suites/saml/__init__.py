"""The saml suite."""
