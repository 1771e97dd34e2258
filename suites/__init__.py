"""The control suites, shipped in the harness's distribution as the ``suites`` package.

From a checkout ``pytest suites/owasp`` runs them in place; from an installed wheel
``harness run`` finds them through this package (``harness.runner.SUITES_ROOT``).
"""
