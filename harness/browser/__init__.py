"""Browser journeys and browser-side observations (E2E-01..05).

``observe`` watches a context (console, page errors, CSP violations, requests), ``storage``
reads what scripts can read, ``a11y`` runs axe-core, ``judge`` turns page visits into each
control's problems, ``journey`` is what a journey test drives, ``sweep`` opens the profile's
pages, ``visits`` shares the journeys' visits between pytest processes and ``fixtures`` are
the pytest fixtures a target's own journeys use.
"""
