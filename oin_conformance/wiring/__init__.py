"""Run wiring, one module per protocol: how a run creates and shares its protocol roles
(once per process), and what an in-process app factory is told about them.

The roles in :mod:`oin_conformance.roles` are plain libraries that know nothing of a run;
this layer, like :mod:`oin_conformance.runtime`, may import them and the runtime.
"""
