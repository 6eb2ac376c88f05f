"""The oidc suite."""
