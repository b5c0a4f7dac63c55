"""Helpers shared by the built-in plugins shipped inside canfar (and the ``canfar`` facade).

Not a plugin (it has no entry point) and not a promise to anyone else: a package installed
separately uses only what docs/plugins.md names. The core never imports it.
"""
