"""Live incident feed: server-sent events of the incidents each node stores (issue 15)."""
