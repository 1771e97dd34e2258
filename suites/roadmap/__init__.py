"""Controls for roadmap criteria nothing else verified: operational documents (DOC-01)."""
