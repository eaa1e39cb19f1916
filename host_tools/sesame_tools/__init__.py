"""Sésame host tools: simulated board, virtual card, issuer-side check."""
