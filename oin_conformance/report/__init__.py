"""Presentation: the readiness verdict and its HTML, JSON and terminal forms.

Reporting consumes the records that checks leave on their pytest reports; it never drives a
protocol and never imports ``oin_conformance.roles``.
"""
