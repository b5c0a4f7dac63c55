"""An example of what an institute ships to customise canfar for its users.

Installed next to canfar, it adds the site's server to ``canfar auth login``, fills in the
site's default image, refuses sessions larger than the site allows, gives headless jobs the
site's environment variables, keeps a log of every launch, and adds ``canfar site``. Copy it,
change :mod:`canfar_institute_example.settings`, and publish it under your institute's name.
"""

from __future__ import annotations

__version__ = "0.1.0"
