"""Root conftest for running from a checkout. It deliberately loads no plugin: the
``pytest11`` entry point of the editable install already does (see STYLE.md lesson 3)."""
