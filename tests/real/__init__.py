"""Integration tests against real third-party SSO software (SPEC §10 "Proof")."""
