"""Issue 15: how soon an incident posted at a village is on the prefecture's screen.

    .venv/bin/python -m bench.live_incidents [--samples 50] [--push-delay-ms 20]

Four real node processes on loopback (prefecture ← county ← township ← village), each its own
uvicorn and SQLite database. A reader per ancestor follows its live feed
(`GET /api/v1/live/incidents`, server-sent events) in a thread; the main thread posts incidents
at the village one at a time, at random intervals, and notes when each was posted. Latency is
from the start of the POST to the event arriving at each ancestor's reader.
Goal: p50 ≤ 1 s at the prefecture (four levels).
"""

import argparse
import itertools
import json
import random
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import COUNTY, PREFECTURE, TOWNSHIP, VILLAGE, NodeProcess, machine, table, workdir
from bench.replication import NAMES, enrol, percentile

GOAL_P50_S = 1.0


class Reader(threading.Thread):
    """Follows one node's live feed; records when each incident id first arrives."""

    def __init__(self, node: NodeProcess) -> None:
        super().__init__(daemon=True)
        self.url, self.code, self.auth = node.url, node.code, node.auth
        self.arrived: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=30), headers=self.auth) as http,
            http.stream("GET", f"{self.url}/api/v1/live/incidents") as stream,
        ):
            stream.raise_for_status()
            event = ""
            for line in stream.iter_lines():
                if self.stop.is_set():
                    return
                if line.startswith("event:"):
                    event = line[6:].strip()
                    self.ready.set()  # the snapshot is the first event
                elif line.startswith("data:") and event == "incident":
                    ident = json.loads(line[5:])["id"]
                    self.arrived.setdefault(ident, time.perf_counter())


def incident(n: int) -> dict[str, Any]:
    data = {
        "category": random.choice(["fire", "hazard", "public_security", "dispute_clue"]),
        "title": f"bench incident {n}",
        "status": "reported",
        "reported_at": datetime.now(UTC).isoformat(),
        "reporter": "bench",
    }
    return {"id": str(uuid.uuid4()), "kind": "incident", "unit": VILLAGE + "001", "data": data}


def run(samples: int, push_delay_ms: int) -> dict[str, list[float]]:
    chain = [PREFECTURE, COUNTY, TOWNSHIP, VILLAGE]
    with workdir("live") as tmp:
        nodes = [
            NodeProcess(code, tmp / code, {"name": NAMES[code], "push_delay_ms": push_delay_ms})
            for code in chain
        ]
        for parent, child in itertools.pairwise(nodes):
            child.settings.update(enrol(parent.data_dir, parent.code, child.code))
        started: list[NodeProcess] = []
        readers: list[Reader] = []
        try:
            for i, node in enumerate(nodes):
                if i:
                    node.settings["parent_url"] = nodes[i - 1].url
                started.append(node.start())
            readers = [Reader(node) for node in nodes[:3]]
            for reader in readers:
                reader.start()
                if not reader.ready.wait(30):
                    raise RuntimeError(f"no live feed from {reader.code}")
            posted: dict[str, float] = {}
            with httpx.Client(
                base_url=nodes[-1].url, timeout=10, headers=nodes[-1].auth
            ) as village:
                for n in range(samples + 1):  # the first one warms up the links
                    body = incident(n)
                    posted[body["id"]] = time.perf_counter()
                    village.post("/api/v1/records", json=body).raise_for_status()
                    deadline = time.perf_counter() + 15
                    while body["id"] not in readers[0].arrived:
                        if time.perf_counter() > deadline:
                            raise RuntimeError(f"incident {n} never reached the prefecture")
                        time.sleep(0.002)
                    if n == 0:
                        posted.pop(body["id"])
                    time.sleep(random.uniform(0.05, 0.3))
        finally:
            for reader in readers:
                reader.stop.set()
            for node in reversed(started):
                node.stop()
    return {
        reader.code: [reader.arrived[i] - t for i, t in posted.items() if i in reader.arrived]
        for reader in readers
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--push-delay-ms", type=int, default=20)
    args = parser.parse_args()
    print(f"live incident latency; {machine()}")
    results = run(args.samples, args.push_delay_ms)
    rows = []
    for code, hops in ((VILLAGE[:9], 1), (COUNTY, 2), (PREFECTURE, 3)):
        lat = [x * 1000 for x in results[code]]
        rows.append(
            [f"{NAMES[code]} ({code})", hops, len(lat), statistics.median(lat),
             percentile(lat, 95), max(lat)]
        )  # fmt: skip
    print()
    print(table(["screen at", "hops up", "samples", "p50 ms", "p95 ms", "max ms"], rows))
    p50 = statistics.median(results[PREFECTURE])
    print()
    print(
        f"village POST → prefecture SSE p50: {p50 * 1000:.0f} ms "
        f"(goal ≤ {GOAL_P50_S * 1000:.0f}: {'met' if p50 <= GOAL_P50_S else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
