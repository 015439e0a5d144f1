"""Helpers shared by every layer: validation, seeding, parallel row chunks, optional imports."""
