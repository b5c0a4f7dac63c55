"""Built-in plugin: session_commands (being written)."""
