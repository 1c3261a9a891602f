"""Flint, the product: small Django apps, one concern each (see docs/ARCHITECTURE.md)."""
