"""One screen = <name>.py (properties and handlers) + <name>.kv (layout and bindings)."""
