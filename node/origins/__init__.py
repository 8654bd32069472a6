"""Origin seals through relays: the `origins` push section (docs/decisions/0951)."""
