"""Drills: scripted operations on a running stack while a prober sends steady traffic.

``prober`` sends the traffic and keeps every answer, ``timeline`` draws it, ``traffic_*`` are
the drills that judge it (rollback, dependency outages, graceful shutdown); the data drills
(migrations, backup and restore) live in ``data_*``.
"""
