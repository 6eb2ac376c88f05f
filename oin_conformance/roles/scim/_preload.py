"""Import the SCIM libraries from a thread of their own, where the call stack is short.

scim2-models and scim2-client build a hundred pydantic models as they are imported, and
pydantic (``use_attribute_docstrings``, on Python before 3.13) finds each model's source by
walking the *whole* call stack, asking :func:`inspect.getmodule` about every frame. Frames
of the import machinery (``<frozen importlib._bootstrap>``) belong to no file, so each of
them costs a scan of ``sys.modules``. Imported from pytest's collection, the stack holds
dozens of such frames and the import takes twice as long as the same import from a fresh
thread (about 0.3 s more in every process, every xdist worker included). The thread is
joined at once: nothing runs concurrently, the modules are simply imported from a short
stack. Harmless where it does not help.
"""

from __future__ import annotations

import importlib
import sys
import threading

#: The libraries whose import builds pydantic models.
LIBRARIES = ("scim2_client",)


def preload() -> None:
    """Import :data:`LIBRARIES` (unless already imported) from a short-lived thread. An
    import error is left to the ordinary import that follows, which raises it."""
    if sys.version_info >= (3, 13) or all(name in sys.modules for name in LIBRARIES):
        return

    def load() -> None:
        for name in LIBRARIES:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001, S112 - raised again by the ordinary import
                continue

    thread = threading.Thread(target=load, name="oin-scim-import")
    thread.start()
    thread.join()


preload()
