"""oin-conformance: act as Okta against an app and report its OIN readiness.

The package is loaded into every pytest run of an environment where it is installed
(``pytest11`` entry point), so importing it must stay cheap: this module imports nothing.
"""

__version__ = "0.1.0"
