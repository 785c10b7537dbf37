"""Opens as many mutual-TLS MQTT connections to one broker as it takes (run by bench_broker,
one process per share of the kiosks: a process's own open-file limit caps what it can hold).

    python -m bench.broker_connections SPEC.json

SPEC: {"port", "ca", "kiosks": [[client id, cert, key], ...], "parallel", "give_up_after"}.
Each connection is TLS with the kiosk's own certificate, then an MQTT 3.1.1 CONNECT (client
id = the kiosk, clean session, keepalive 900 s) answered by a CONNACK. Prints one JSON line
when it stops opening ({"opened", "failed", "errors", "seconds"}), then holds every connection
open until its standard input closes.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any


def connect_packet(client_id: str, keepalive: int = 900) -> bytes:
    cid = client_id.encode()
    body = b"\x00\x04MQTT\x04\x02" + keepalive.to_bytes(2, "big") + len(cid).to_bytes(2, "big") + cid
    return b"\x10" + bytes([len(body)]) + body  # a body under 128 bytes: one length byte


async def open_one(spec: dict[str, Any], kiosk: list[str]) -> asyncio.StreamWriter:
    client_id, cert, key = kiosk
    context = ssl.create_default_context(cafile=spec["ca"])
    context.load_cert_chain(cert, key)
    reader, writer = await asyncio.open_connection("localhost", spec["port"], ssl=context)
    writer.write(connect_packet(client_id))
    await writer.drain()
    connack = await reader.readexactly(4)
    if connack[0] != 0x20 or connack[3] != 0:
        writer.close()
        raise ConnectionRefusedError(f"CONNACK {connack.hex()}")
    return writer


async def main(spec: dict[str, Any]) -> None:
    held: list[asyncio.StreamWriter] = []
    errors: Counter[str] = Counter()
    gate = asyncio.Semaphore(spec["parallel"])
    failures_in_a_row = 0
    stop = asyncio.Event()

    async def attempt(kiosk: list[str]) -> None:
        nonlocal failures_in_a_row
        async with gate:
            if stop.is_set():
                return
            try:
                held.append(await asyncio.wait_for(open_one(spec, kiosk), 20))
                failures_in_a_row = 0
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError) as err:
                errors[f"{type(err).__name__}: {err}"[:120]] += 1
                failures_in_a_row += 1
                if failures_in_a_row >= spec["give_up_after"]:
                    stop.set()

    t0 = time.perf_counter()
    await asyncio.gather(*(attempt(k) for k in spec["kiosks"]))
    print(json.dumps({"opened": len(held), "failed": sum(errors.values()), "errors": dict(errors.most_common(5)),
                      "seconds": time.perf_counter() - t0}), flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # hold until told
    for w in held:
        w.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text())))
