"""OWASP-area controls: headers, auth, input handling, TLS, DAST."""
