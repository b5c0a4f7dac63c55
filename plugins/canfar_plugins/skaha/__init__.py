"""Built-in plugin: skaha (being written)."""
