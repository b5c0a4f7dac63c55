"""Built-in plugin: auth (being written)."""
