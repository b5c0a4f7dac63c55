"""Built-in plugin: engines (being written)."""
