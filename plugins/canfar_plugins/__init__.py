"""canfar's built-in plugins. Each module is a plugin registered through the ``canfar``
entry-point group, exactly as a third-party package would be."""
