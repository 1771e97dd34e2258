"""pytest plugin: the shared stack fixture (being built)."""
