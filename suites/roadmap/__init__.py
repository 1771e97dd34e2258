"""Controls for roadmap criteria nothing else verified: operational documents (DOC-01), the
target's own test time (CI-01), Kubernetes manifests (SC-07)."""
