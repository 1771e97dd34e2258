"""API controls: property-based fuzzing and the OWASP API Security Top 10."""
