"""One node's registry and the instruments that count what passes by."""

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from federation.observe import Exchange
from node.context import NodeContext
from node.metrics.collector import NodeCollector

# Seconds: from a cached view (ms) to a large push or a held directive poll (tens of seconds).
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class NodeMetrics:
    """The metrics of one app; `watch(ctx)` once the node is open."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._ctx: NodeContext | None = None
        self.registry.register(NodeCollector(self.context))
        r = self.registry
        self.http_requests = Counter(
            "tiersync_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "tiersync_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template (views: /api/v1/views/...)",
            ["route"],
            buckets=BUCKETS,
            registry=r,
        )
        self.http_received = Counter(
            "tiersync_http_request_bytes", "Request body bytes received", ["route"], registry=r
        )
        self.http_sent = Counter(
            "tiersync_http_response_bytes", "Response body bytes sent", ["route"], registry=r
        )
        self.uplink_requests = Counter(
            "tiersync_uplink_requests",
            "Requests to the parent (push, cursor, pull of directives, exchange), answered or not",
            ["operation"],
            registry=r,
        )
        self.uplink_seconds = Histogram(
            "tiersync_uplink_request_duration_seconds",
            "Time a request to the parent took, by operation",
            ["operation"],
            buckets=BUCKETS,
            registry=r,
        )
        self.uplink_bytes = Counter(
            "tiersync_uplink_bytes",
            "Bytes on the wire to and from the parent (direction: sent, received)",
            ["operation", "direction"],
            registry=r,
        )
        self.uplink_errors = Counter(
            "tiersync_uplink_errors",
            "Failed requests to the parent by kind (timeout, connect, server, unauthorized, ...)",
            ["operation", "kind"],
            registry=r,
        )

    def watch(self, ctx: NodeContext | None) -> None:
        """The node the scrape-time collector reads (None once it is closed)."""
        self._ctx = ctx

    def context(self) -> NodeContext | None:
        return self._ctx

    def observe_exchange(self, exchange: Exchange) -> None:
        """A request to the parent ended (federation.http_peer.HttpPeer.observe)."""
        op = exchange.operation
        self.uplink_requests.labels(op).inc()
        self.uplink_seconds.labels(op).observe(exchange.seconds)
        self.uplink_bytes.labels(op, "sent").inc(exchange.sent)
        self.uplink_bytes.labels(op, "received").inc(exchange.received)
        if exchange.error is not None:
            self.uplink_errors.labels(op, exchange.error).inc()

    def exposition(self) -> bytes:
        """The text format Prometheus scrapes."""
        return generate_latest(self.registry)
