"""Resilience controls: drills under traffic (rollback, outages, shutdown) and data drills."""
