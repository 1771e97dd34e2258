"""Load runs with Locust: journeys from the profile and the OpenAPI document, SLO judging, and
the figures PERF-02..04 judge (latency and errors, database connections, cache hits).

Modules that import Locust (``users``, ``sources``, ``hooks``) are imported only inside the
Locust process (the files in ``load/``): importing Locust monkey-patches the standard library
with gevent, which the harness's own process must never get.
"""
