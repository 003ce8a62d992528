"""The service's edge under hostile clients (issue #32): slow bodies, a body of 150,000
unknown keys, and 1,000 connections at once, against a real `likecast serve` (two workers,
the defaults of every edge setting).

Targets: with 300 sockets sending one body byte every 4 s (each reconnecting when cut off),
at least 95% of normal drafts answered 200 within 1 s; the 1.7 MB unknown-keys draft
answered in under 100 ms with under 64 KB; 6,000 sockets stalled in their headers answered
408 at the header deadline (5 s), not held; at 1,000 connections, p99 of the requests served
under 2 s, the rest shed with 503 and Retry-After. Anchors, in the same run, same server:
the same normal drafts with no slow client, and the same load with 8 connections.

The clients are asyncio coroutines on raw sockets in this process, on the same machine (wrk
cannot tell the latency of the 200s from that of the 503s). They do not honour Retry-After:
each asks again at once, the worst case for the server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.bench_serving import PLAIN_DRAFT, free_port, model_and_store, settle, start, stop
from bench.common import machine, write_result

HOST = "127.0.0.1"


def raw_request(path: str, body: bytes, close: bool = False) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{'Connection: close' + chr(13) + chr(10) if close else ''}"
        "\r\n"
    )
    return head.encode() + body


async def read_answer(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 answer: its status, headers (lower-case) and body."""
    line = await reader.readline()
    if not line:
        raise ConnectionError("closed")
    status = int(line.split(b" ", 2)[1])
    headers: dict[str, str] = {}
    while (row := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = row.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


async def one_request(port: int, raw: bytes) -> tuple[int, float, int]:
    """A request on its own connection: status, seconds from connect to last byte, size."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(raw)
        await writer.drain()
        status, _, body = await read_answer(reader)
    finally:
        writer.close()
    return status, time.perf_counter() - started, len(body)


def summary(times: list[float]) -> dict[str, float]:
    ordered = sorted(times)
    if not ordered:
        return {"n": 0}

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"n": len(ordered), "p50_ms": at(0.5), "p99_ms": at(0.99), "max_ms": at(1.0)}


async def normal_drafts(port: int, n: int, gap_s: float) -> dict:
    """``n`` drafts, one every ``gap_s``, each on a new connection: statuses and times."""
    raw = raw_request("/predict_draft", json.dumps(PLAIN_DRAFT).encode(), close=True)
    results = []
    for _ in range(n):
        results.append(await one_request(port, raw))
        await asyncio.sleep(gap_s)
    fast_ok = sum(1 for status, seconds, _ in results if status == 200 and seconds < 1.0)
    statuses: dict[str, int] = {}
    for status, _, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "requests": n,
        "statuses": statuses,
        "share_200_within_1s": round(fast_ok / n, 3),
        **summary([seconds for _, seconds, _ in results]),
    }


async def slow_body_client(port: int, stop_at: float, seen: dict[str, int]) -> None:
    """Sends a draft's headers, then one body byte every 4 s; reconnects when cut off."""
    head = raw_request("/predict_draft", b"")
    head = head.replace(b"Content-Length: 0", b"Content-Length: 100000")
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            seen["connect_failed"] = seen.get("connect_failed", 0) + 1
            await asyncio.sleep(1)
            continue

        async def dribble(writer: asyncio.StreamWriter = writer) -> None:
            writer.write(head + b"{")
            while True:
                await asyncio.sleep(4)
                writer.write(b" ")
                await writer.drain()

        sender = asyncio.ensure_future(dribble())
        try:
            left = stop_at - time.monotonic()
            status, _, _ = await asyncio.wait_for(read_answer(reader), max(left, 0.01))
            seen[str(status)] = seen.get(str(status), 0) + 1
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            sender.cancel()
            writer.close()


async def slow_bodies(port: int, sockets: int, drafts: int) -> dict:
    """``sockets`` slow-body clients, and meanwhile ``drafts`` normal drafts."""
    seen: dict[str, int] = {}
    stop_at = time.monotonic() + 3600
    clients = [asyncio.ensure_future(slow_body_client(port, stop_at, seen)) for _ in range(sockets)]
    await asyncio.sleep(6)  # every slow client connected, the first cut off and back
    normal = await normal_drafts(port, drafts, 0.3)
    for client in clients:
        client.cancel()
    await asyncio.gather(*clients, return_exceptions=True)
    return {"slow_sockets": sockets, "slow_clients_answered": seen, "normal_drafts": normal}


async def slow_headers(port: int, sockets: int, drafts: int) -> dict:
    """``sockets`` clients that send half a request line and stall; meanwhile ``drafts``
    normal drafts. How long each is held, and what it is answered."""

    async def stalled() -> tuple[str, float]:
        opened = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            return "connect_failed", time.monotonic() - opened
        try:
            writer.write(b"GET /livez HTTP/1.1\r\nHo")
            line = await asyncio.wait_for(reader.readline(), 120)
            status = line.split(b" ", 2)[1].decode() if line else "closed"
        except (TimeoutError, OSError):
            status = "held"
        finally:
            writer.close()
        return status, time.monotonic() - opened

    clients = [asyncio.ensure_future(stalled()) for _ in range(sockets)]
    await asyncio.sleep(1)
    normal = await normal_drafts(port, drafts, 0.05)
    results = await asyncio.gather(*clients)
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {
        "slow_sockets": sockets,
        "answered": statuses,
        "held": summary([seconds for _, seconds in results]),
        "normal_drafts": normal,
    }


async def unknown_keys(port: int) -> dict:
    """The 1.7 MB draft of 150,000 unknown keys, five times; a normal draft sent 5 ms after
    each; and 1,000 batch items of 150 unknown keys."""
    body = {**PLAIN_DRAFT, **{f"{i:x}": 1 for i in range(150_000)}}
    raw = raw_request("/predict_draft", json.dumps(body).encode(), close=True)
    normal = raw_request("/predict_draft", json.dumps(PLAIN_DRAFT).encode(), close=True)
    big, beside = [], []
    for _ in range(5):
        refused = asyncio.ensure_future(one_request(port, raw))
        await asyncio.sleep(0.005)
        beside.append(await one_request(port, normal))
        big.append(await refused)
    # short keys, as the issue's: 1,000 items of 150 keys is then within the body limit
    items = [{**PLAIN_DRAFT, **{f"{k:x}": 1 for k in range(150)}} for _ in range(1000)]
    batch = raw_request("/predict_batch", json.dumps({"items": items}).encode(), close=True)
    batch_status, batch_seconds, batch_bytes = await one_request(port, batch)
    return {
        "body_bytes": len(raw),
        "statuses": sorted({status for status, _, _ in big}),
        "answer_bytes": max(size for _, _, size in big),
        "seconds": [round(seconds, 4) for _, seconds, _ in big],
        "median_ms": round(statistics.median(s for _, s, _ in big) * 1000, 1),
        "normal_draft_beside": summary([seconds for _, seconds, _ in beside]),
        "batch_1000_items_150_unknown": {
            "status": batch_status,
            "seconds": round(batch_seconds, 3),
            "answer_bytes": batch_bytes,
        },
    }


async def load(port: int, connections: int, seconds: float) -> dict:
    """``connections`` keep-alive clients asking for drafts as fast as answered."""
    raw = raw_request("/predict_draft", json.dumps(PLAIN_DRAFT).encode())
    served: list[float] = []
    statuses: dict[str, int] = {}
    retry_after = 0
    errors = 0
    stop_at = time.monotonic() + seconds

    async def client() -> None:
        nonlocal retry_after, errors
        reader = writer = None
        while time.monotonic() < stop_at:
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, port)
                started = time.perf_counter()
                writer.write(raw)
                await writer.drain()
                assert reader is not None
                status, headers, _ = await read_answer(reader)
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                errors += 1
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            elapsed = time.perf_counter() - started
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if status == 200:
                served.append(elapsed)
            elif status == 503 and "retry-after" in headers:
                retry_after += 1
            if headers.get("connection") == "close":
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    await asyncio.gather(*(client() for _ in range(connections)))
    answered = sum(statuses.values())
    return {
        "connections": connections,
        "seconds": seconds,
        "statuses": statuses,
        "connection_errors": errors,
        "shed_503_with_retry_after": retry_after,
        "served_per_s": round(len(served) / seconds, 1),
        "answered_per_s": round(answered / seconds, 1),
        "served": summary(served),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--creators", type=int, default=5_000, help="creators in the store")
    parser.add_argument("--seconds", type=int, default=20, help="duration of each load run")
    parser.add_argument("--quick", action="store_true", help="fewer sockets, shorter runs")
    args = parser.parse_args(argv)
    creators, seconds = (5_000, 5) if args.quick else (args.creators, args.seconds)
    sockets, connections = (60, 200) if args.quick else (300, 1000)
    header_sockets = 500 if args.quick else 6000
    model, store, _ = model_and_store(creators)
    result: dict = {"machine": machine(), "creators": creators}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        shutil.copy(store, home / "creator_store.sqlite")
        env = {**os.environ, "LIKECAST_HOME": str(home), "LIKECAST_MODEL_URI": str(model)}
        port = free_port()
        serve = [str(Path(sys.executable).with_name("likecast")), "serve", "--port", str(port)]
        service = start(serve, env, port, Path(tmp))
        try:
            settle(service, 2)
            result["load_average_at_start"] = os.getloadavg()
            result["anchor_normal_drafts"] = asyncio.run(normal_drafts(port, 50, 0.1))
            result["slow_bodies"] = asyncio.run(slow_bodies(port, sockets, 50))
            result["slow_headers"] = asyncio.run(slow_headers(port, header_sockets, 50))
            result["unknown_keys"] = asyncio.run(unknown_keys(port))
            result["anchor_load_8"] = asyncio.run(load(port, 8, seconds))
            result["load_1000"] = asyncio.run(load(port, connections, seconds))
            result["load_average_at_end"] = os.getloadavg()
        finally:
            stop(service)
    normal = result["slow_bodies"]["normal_drafts"]
    keys = result["unknown_keys"]
    overload = result["load_1000"]
    headers = result["slow_headers"]
    result["targets"] = {
        "slow_headers_answered_408_within_s": 10,
        "slow_bodies_share_200_within_1s": 0.95,
        "unknown_keys_ms": 100,
        "unknown_keys_answer_bytes": 65_536,
        "load_1000_served_p99_ms": 2000,
    }
    result["meets_targets"] = (
        normal["share_200_within_1s"] >= 0.95
        and set(headers["answered"]) == {"408"}
        and headers["held"]["max_ms"] < 10_000
        and keys["median_ms"] < 100
        and keys["answer_bytes"] < 65_536
        and overload["served"].get("p99_ms", 1e9) < 2000
        and set(overload["statuses"]) <= {"200", "503"}
    )
    print(json.dumps(result, indent=2))
    write_result("edge", result, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
