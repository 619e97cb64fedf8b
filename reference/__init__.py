"""Reference layers (installed as gradcheck.reference)."""
