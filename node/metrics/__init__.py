"""Prometheus metrics of one node at GET /metrics (right `metrics.read`).

Each app has its own registry (many nodes run in one test process): `NodeMetrics` holds it.
What the database knows (children, pending changes, quarantine, conflicts, size) is read at
scrape time by `collector.NodeCollector`; what only passes by (HTTP requests, requests to the
parent) is counted as it happens (`http.RequestMetrics`, `NodeMetrics.observe_exchange`).
docs/operations.md lists every metric; deploy/prometheus/alerts.yml alerts on them.
"""
