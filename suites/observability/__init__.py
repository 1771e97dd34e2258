"""Observability controls: logs, metrics, health, correlation, error responses."""
