"""Mosquitto up to its limits on this machine (issue 18): the broker a county runs, with the
configuration and ACL ``provision broker-config`` writes (mutual TLS, CN as user name and
client id, persistence) and kiosks enrolled as ``provision enroll`` does.

- Message rate: QoS 1 record messages (one record, as a live tap sends; 200 records, as a
  backlog drains) from one publisher and from several, to one subscriber with the gateway's
  identity on ``lc/v1/+/rec``. The clients are Mosquitto's own C clients (``mosquitto_pub
  -l``, ``mosquitto_sub``) so that the clients cost less than the broker; the figure that
  carries to another machine is the broker's CPU per message. One and several publishers
  run in interleaved rounds.
- Connections: mutual-TLS connections, each with its own kiosk certificate, opened until
  the broker stops taking them or the kiosks run out; where it stops and why.
"""

from __future__ import annotations

import getpass
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.result import Interleaved, Result, median

GROUP = "Mosquitto's limits on this machine (issue 18)"
ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 5
WINDOW = 8  # messages in flight per publisher: the kiosk uplink's window
SHARED = ("The two-core machine was shared with other helpers' work (and the clients run on the same two cores "
          "as the broker).")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def record_messages() -> tuple[bytes, bytes]:
    """A one-record message and a 200-record message as the kiosk uplink sends them (check-ins
    and check-outs, signed and chained), each flattened to one line for ``mosquitto_pub -l``
    (the broker does not look inside; only the size matters to it)."""
    from bench.bench_relay import visit
    from tests.support.county import TestCounty
    from tests.support.gateway import KioskChain, payload

    chain = KioskChain(TestCounty())
    recs = [r for i in range(100) for r in visit(chain, i)]
    one, batch = payload(recs[1:2]), payload(recs)
    return one.replace(b"\n", b" "), batch.replace(b"\n", b" ")


class Broker:
    """A county home with ``kiosks`` enrolled, the generated broker configuration, Mosquitto."""

    def __init__(self, folder: Path, kiosks: int, nofile: int | None = None) -> None:
        from provisioning import broker as broker_config
        from tests.support.fleet import enrol
        from tests.support.mosquitto import Mosquitto
        from tests.support.ports import free_port, wait_listening

        names = [f"k-b{i:05d}" for i in range(kiosks)]
        self.home, self.tls = enrol(folder / "county", {k: f"v-b{i // 4:05d}" for i, k in enumerate(names)},
                                    {k: os.urandom(32) for k in names})
        self.kiosks = names
        self.port = free_port()
        conf, _ = broker_config.write(self.home, folder / "broker", port=self.port, address="127.0.0.1",
                                      user=getpass.getuser())
        self.mosquitto = Mosquitto(folder / "broker", port=self.port)
        with conf.open("a") as more:  # its log in a file too, to say why it stopped taking connections
            more.write(f"log_dest file {self.mosquitto.log}\n")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if nofile:  # the broker inherits a lower open-file limit (the quick run: to see it stop)
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        t0 = time.perf_counter()
        try:  # started here rather than by Mosquitto.start: with a province's ACL it takes longer than 10 s
            self.mosquitto.proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL, start_new_session=True)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        try:
            wait_listening(self.port, timeout=600)
        except TimeoutError:
            self.mosquitto.kill()
            raise
        self.started_in = time.perf_counter() - t0
        self.nofile = nofile or soft
        self.ca = str(self.home.path_of("device-ca.pem"))

    @property
    def pid(self) -> int:
        assert self.mosquitto.proc is not None
        return self.mosquitto.proc.pid

    def tls_args(self, cert: str, key: str) -> list[str]:
        return ["-h", "localhost", "-p", str(self.port), "--cafile", self.ca, "--cert", cert, "--key", key]

    def kill(self) -> None:
        self.mosquitto.kill()


def message_round(broker: Broker, folder: Path, message: bytes, publishers: int, count: int) -> tuple[float, float]:
    """(messages/s from the first publish to the last delivery, broker CPU µs per message)."""
    gateway = broker.home.path_of("gateway/gateway.pem"), broker.home.path_of("gateway/gateway.key")
    sub = subprocess.Popen(["mosquitto_sub", *broker.tls_args(str(gateway[0]), str(gateway[1])), "-q", "1",
                            "-t", "lc/v1/+/rec", "-C", str(count * publishers), "-i", "gateway"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # its subscription in place before anything is published
    lines = folder / f"messages-{len(message)}-{count}"
    if not lines.exists():
        lines.write_bytes((message + b"\n") * count)
    cpu0, t0 = cpu_seconds(broker.pid), time.perf_counter()
    pubs = []
    for k in broker.kiosks[:publishers]:
        tls = broker.tls[k]
        with lines.open("rb") as stdin:
            pubs.append(subprocess.Popen(
                ["mosquitto_pub", *broker.tls_args(str(tls.cert), str(tls.key)), "-q", "1", "-i", k,
                 "-t", f"lc/v1/{k}/rec", "-l", "-M", str(WINDOW), "--nodelay"],
                stdin=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    try:
        _, err = sub.communicate(timeout=600)
    finally:
        for p in pubs:
            p.wait(timeout=60)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds(broker.pid) - cpu0
    if sub.returncode != 0:
        raise RuntimeError(f"mosquitto_sub: {err.decode(errors='replace')}")
    total = count * publishers
    return total / seconds, cpu / total * 1e6


def message_rates(broker: Broker, folder: Path, quick: bool, several: int) -> list[Result]:
    one, batch = record_messages()
    results = []
    for label, message, count in (("one record", one, 2_000 if quick else 20_000),
                                  ("200 records", batch, 50 if quick else 400)):
        single, multi, cpu_single, cpu_multi = [], [], [], []
        for _ in range(ROUNDS):
            rate, cpu = message_round(broker, folder, message, 1, count)
            single.append(rate)
            cpu_single.append(cpu)
            rate, cpu = message_round(broker, folder, message, several, count // several)
            multi.append(rate)
            cpu_multi.append(cpu)
        size = f"{len(message) / 1024:,.1f} KiB" if len(message) < 10_240 else f"{len(message) / 1024:,.0f} KiB"
        per_core = 1e6 / median(cpu_multi)
        results += [
            Result(GROUP, f"QoS 1 messages of {label} ({size}), one publisher", median(single), "messages/s",
                   note=f"{count:,} messages a round, median of {ROUNDS} rounds "
                        f"({min(single):,.0f}–{max(single):,.0f}); broker CPU {median(cpu_single):.0f} µs a message."),
            Result.of_rounds(GROUP, f"QoS 1 messages of {label} ({size}), {several} publishers",
                             Interleaved(multi, single), "messages/s", "one publisher",
                             note=f"{count:,} messages a round in all; broker CPU {median(cpu_multi):.0f} µs a "
                                  f"message (rounds {min(cpu_multi):.0f}–{max(cpu_multi):.0f}): one core of this "
                                  f"machine would carry about {per_core:,.0f} such messages/s "
                                  f"({per_core * (200 if label == '200 records' else 1):,.0f} records/s). "
                                  + SHARED),
        ]
    return results


def connections(broker: Broker, folder: Path) -> list[Result]:
    """Open a connection per enrolled kiosk from client processes of at most 10,000 each."""
    per_process = 10_000
    shares = [broker.kiosks[i:i + per_process] for i in range(0, len(broker.kiosks), per_process)]
    rss0, cpu0, t0 = status(broker.pid, "VmRSS"), cpu_seconds(broker.pid), time.perf_counter()
    procs, answers = [], []
    for n, share in enumerate(shares):
        spec = folder / f"connections-{n}.json"
        spec.write_text(json.dumps({"port": broker.port, "ca": broker.ca, "parallel": 32, "give_up_after": 64,
                                    "kiosks": [[k, str(broker.tls[k].cert), str(broker.tls[k].key)]
                                               for k in share]}))
        procs.append(subprocess.Popen([sys.executable, "-m", "bench.broker_connections", str(spec)], cwd=ROOT,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    try:
        for p in procs:
            assert p.stdout is not None
            answers.append(json.loads(p.stdout.readline()))
        seconds = time.perf_counter() - t0
        rss, cpu = status(broker.pid, "VmRSS") - rss0, cpu_seconds(broker.pid) - cpu0
        fds = len(os.listdir(f"/proc/{broker.pid}/fd"))
        rss_open = status(broker.pid, "VmRSS")
        limit = broker.nofile, resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    finally:
        for p in procs:
            assert p.stdin is not None
            p.stdin.close()
            p.wait(timeout=120)
    opened = sum(a["opened"] for a in answers)
    failed = sum(a["failed"] for a in answers)
    errors: dict[str, int] = {}
    for a in answers:
        for text, count in a["errors"].items():
            errors[text] = errors.get(text, 0) + count
    log = broker.mosquitto.log.read_text(errors="replace") if broker.mosquitto.log.exists() else ""
    why = (f"the broker stopped at {opened:,}: its open-file limit here is {limit[0]:,} (hard limit {limit[1]:,}, "
           f"which this session cannot raise), and it held {fds:,} descriptors; the clients saw "
           + "; ".join(f"{c:,} × {t}" for t, c in sorted(errors.items(), key=lambda e: -e[1])[:3])
           if failed else f"every one of the {len(broker.kiosks):,} enrolled kiosks connected; the broker held "
           f"{fds:,} descriptors against an open-file limit of {limit[0]:,}")
    complaints = [line for line in log.splitlines() if "rror" in line or "Unable" in line or "open files" in line]
    if complaints:
        why += f"; the broker's log says ({len(complaints):,} such lines): {complaints[-1][:160]}"
    return [
        Result(GROUP, "mutual-TLS kiosk connections one Mosquitto took (each its own certificate, CONNACK)",
               opened, "connections",
               note=f"{why}. Mosquitto took {broker.started_in:.1f} s to start with the generated ACL of "
                    f"{len(broker.kiosks):,} kiosks (the ACL is what grows with the kiosks, and Mosquitto reads it "
                    "again on every SIGHUP, as after a revocation; a reload was not timed here). "
                    f"Opened in {seconds:.0f} s by {len(shares)} client processes; broker CPU "
                    f"{cpu / max(opened, 1) * 1000:.2f} ms and memory {rss / max(opened, 1):.0f} KiB a connection "
                    f"(RSS {rss_open / 1024:,.0f} MiB with them open). " + SHARED),
    ]


def run(quick: bool) -> list[Result]:
    kiosks = 300 if quick else 20_500  # quick: the broker gets an open-file limit of 200, to see where it stops
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        broker = Broker(folder, kiosks, nofile=200 if quick else None)
        print(f"   ({kiosks:,} kiosks enrolled in {time.perf_counter() - t0:.0f} s)", flush=True)
        try:
            results = message_rates(broker, folder, quick, several=8)
            results += connections(broker, folder)
        finally:
            broker.kill()
    return results
