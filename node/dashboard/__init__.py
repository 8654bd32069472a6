"""The big-screen dashboard every node serves at `/` for its subtree (assets in node/static)."""
