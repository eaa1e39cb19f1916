"""The issuer's side: recomputing and accepting codes (`sesame verify`), a card replayed from a trace."""
