"""Performance controls: compression and the observability overhead benchmark."""
