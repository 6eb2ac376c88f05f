"""The scim suite."""
