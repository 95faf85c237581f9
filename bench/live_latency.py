"""Event → WebSocket delivery latency: 50 live clients while hooks arrive at 1,000 events/s.

The poster (a separate process) stamps each hook's prompt with its send time; every client
measures receive time minus send time for each event. Prints one JSON line.

Like `timeit`, the harness's own processes (poster and clients) run the timed window with their
garbage collector off: their full collections paused them for 20-45 ms, which showed up as the
server's tail latency (the server itself runs no full collection during the window: its start-up
heap is frozen).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from websockets.asyncio.client import connect

from common import emit, start_server

SEND_STAMP = re.compile(r'"prompt":"(\d{19})"')  # the poster's time.time_ns(), as the prompt text


@contextlib.contextmanager
def no_collections():
    """Keep this process's garbage collector out of the measurement (what timeit does)."""
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def post_at_rate(url: str, rate: float, seconds: float) -> None:
    """Send UserPromptSubmit hooks at a steady rate (open loop), stamped with their send time."""
    n = int(rate * seconds)
    start = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        async def one(i: int) -> None:
            body = {"session_id": f"bench-{i % 10}", "hook_event_name": "UserPromptSubmit", "cwd": "/tmp/bench",
                    "prompt_id": f"p{i}", "prompt": str(time.time_ns())}
            async with http.post(f"{url}/hooks/claude", json=body) as resp:
                await resp.read()
        tasks = []
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)


async def client(url: str, latencies: list[float], ready: asyncio.Event, expected: int) -> None:
    async with connect(url, max_queue=None) as ws:
        await ws.send(json.dumps({"resume": None}))
        await ws.recv()
        ready.set()
        seen = 0
        while seen < expected:
            frame = await asyncio.wait_for(ws.recv(), 30)
            now = time.time_ns()
            # Each phone parses its own stream on its own CPU; here 50 clients share the server's
            # two cores, so they only find the send stamps instead of decoding every message.
            for stamp in SEND_STAMP.findall(frame):
                latencies.append((now - int(stamp)) / 1e6)
                seen += 1


async def measure(base: str, clients: int, rate: float, seconds: float) -> dict:
    ws_url = base.replace("http://", "ws://") + "/api/live"
    latencies: list[float] = []
    expected = int(rate * seconds)
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [asyncio.create_task(client(ws_url, latencies, r, expected)) for r in readies]
    await asyncio.gather(*(r.wait() for r in readies))
    poster = await asyncio.create_subprocess_exec(sys.executable, __file__, "--post", base, "--rate", str(rate),
                                                  "--seconds", str(seconds))
    await poster.wait()
    done, pending = await asyncio.wait(tasks, timeout=60)
    for t in pending:
        t.cancel()
    latencies.sort()
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 2 else [0] * 99
    return {"scenario": "live-delivery", "clients": clients, "rate_per_s": rate, "seconds": seconds,
            "deliveries": len(latencies), "expected": expected * clients,
            "p50_ms": round(q[49], 2), "p99_ms": round(q[98], 2), "max_ms": round(latencies[-1], 2),
            "target": "p99_ms < 50"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--post", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.post:
        with no_collections():
            asyncio.run(post_at_rate(opts.post, opts.rate, opts.seconds))
        return
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            with no_collections():
                result = asyncio.run(measure(server.url, opts.clients, opts.rate, opts.seconds))
            emit(result)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
