"""Data steps of migrations, frozen: copies of the code as it was when each migration was
written, never imports of live code, so a later change to the node cannot break (or silently
change) a fresh install or an upgrade. Nothing outside migrations/ imports these."""
