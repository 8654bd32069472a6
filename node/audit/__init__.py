"""The audit log: who did what, when, with what outcome. Every entry is written through
`node.audit.service` (one function, so a hash chain can be added in one place)."""
