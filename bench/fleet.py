"""The fleet simulator: K simulated kiosks against a real Mosquitto and N real
``learncard gateway run`` processes sharing one store.

    python -m bench.fleet --kiosks 1000 --profile morning-peak --gateways 1 --store sqlite
    python -m bench.fleet --kiosks 3 --profile village-backlog --backlog 20000 --backlog-kiosks 3 \\
        --residents 0 --gateways 2 --store postgresql

Each kiosk has its own Ed25519 key (in the county's registry), makes real signed, chained
records, and has its own MQTT session; with ``--tls`` each is enrolled through provisioning's
API (one registry version for the whole fleet) with its own certificate from the county's
kiosk CA, and the broker runs the configuration and ACL ``provision broker-config`` writes.
A simulated kiosk follows the uplink's rules with its outbox in memory
(``tests/support/fleet.py``); the kiosks are spread over a few worker processes. Profiles,
each bounded by ``--duration``:

- ``morning-peak``: each kiosk's ``--residents`` arrive at random within the duration;
- ``live-rate``: ``--rate`` taps/s over the whole fleet, one record per message;
- ``village-backlog``: ``--backlog-kiosks`` kiosks come online with ``--backlog`` records
  each while the others run the morning peak;
- ``township-reboot``: the morning peak, and halfway through every kiosk drops its
  connection and reconnects at once (offering its whole outbox again).

Reported: tap → gateway commit per live record (the commit time is the store's
``committed_ms``, stamped when the transaction that stores it begins: with group commit the
commit itself comes after the rest of its group), p50/p99 over the fleet with n and the
per-kiosk p99's median and worst; tap → receipt at the kiosk (after the commit and the way
back: the stricter figure); records lost (made but not stored once everything settled) and stored twice; the
records the gateways received again (their ``records_duplicate`` counter) and the resend
requests they made; gateway CPU per 1,000 records; the backlog's drain rate.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bench.result import median, percentile
from tests.support.fleet import healthy, metric

ROOT = Path(__file__).resolve().parent.parent
PROFILES = ("morning-peak", "live-rate", "village-backlog", "township-reboot")


# --- the worker process: a share of the fleet ------------------------------------------------

def worker(spec_path: Path) -> int:
    from records import keys
    from tests.support.fleet import Fleet, SimKiosk, Tls

    spec = json.loads(spec_path.read_text())
    p = spec["profile"]
    kiosks = [SimKiosk(k, v, keys.private_key_from_seed(bytes.fromhex(seed)),
                       window=p["window"], resend_after=p["resend_after"])
              for k, v, seed in spec["kiosks"]]
    backlog = {k for k in spec["backlog_kiosks"]}
    for k in kiosks:
        if k.kiosk in backlog:
            for _ in range(p["backlog"]):
                k.tap(live=False)
    fleet = Fleet(kiosks, spec["port"], {k: Tls(*map(Path, v)) for k, v in spec.get("tls", {}).items()})
    # the backlog's clock starts before its kiosks connect: they send while the fleet waits for
    # the common start (a clock started at the start missed that work: drains of 1.7 million
    # records/s were printed)
    t_backlog = time.monotonic()
    fleet.connect_all()
    Path(spec["ready"]).write_text("ready")
    while time.time() < spec["start_at"]:
        fleet.pump(0.05)
    duration = p["duration"]
    rng = random.Random(spec["seed"])
    live = [k for k in kiosks if k.kiosk not in backlog]
    arrivals: list[tuple[float, SimKiosk]] = []
    if p["name"] == "live-rate":
        per_second = p["rate"] * len(live) / max(1, spec["fleet_size"] - len(spec["all_backlog"]))
        t = 0.0
        while live and per_second > 0:
            t += rng.expovariate(per_second)
            if t >= duration:
                break
            arrivals.append((t, rng.choice(live)))
    else:
        for k in live:
            arrivals += [(rng.uniform(0, duration), k) for _ in range(p["residents"])]
    arrivals.sort(key=lambda a: a[0])
    t0 = time.monotonic()
    drained: dict[str, float] = {}
    rebooted = p["name"] != "township-reboot"
    i = 0
    while i < len(arrivals) or time.monotonic() - t0 < duration:
        elapsed = time.monotonic() - t0
        while i < len(arrivals) and arrivals[i][0] <= elapsed:
            arrivals[i][1].tap()
            i += 1
        if not rebooted and elapsed >= duration / 2:
            fleet.disconnect_all()
            fleet.reconnect_all()
            rebooted = True
        fleet.pump(0.005)
        for k in kiosks:
            if k.kiosk in backlog and k.kiosk not in drained and not k.unsettled():
                drained[k.kiosk] = time.monotonic() - t_backlog
    settle_deadline = time.monotonic() + p["settle_timeout"]
    while time.monotonic() < settle_deadline and any(k.unsettled() for k in kiosks):
        fleet.pump(0.05)
        for k in kiosks:
            if k.kiosk in backlog and k.kiosk not in drained and not k.unsettled():
                drained[k.kiosk] = time.monotonic() - t_backlog
    Path(spec["out"]).write_text(json.dumps({
        "kiosks": {k.kiosk: {"stats": asdict(k.stats), "unsettled": k.unsettled(), "taps": k.taps,
                             "live": sorted(k.live), "settled_at": k.settled_at} for k in kiosks},
        "drained": drained}))
    fleet.disconnect_all()
    return 0


# --- the coordinator ---------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def simulate(args: argparse.Namespace) -> dict[str, Any]:
    """Run one fleet scenario and return its figures."""
    from provisioning import broker as broker_config
    from provisioning import gateways as gateway_identities
    from records import keys
    from tests.support.county import TestCounty
    from tests.support.fleet import Tls, enrol
    from tests.support.mosquitto import Mosquitto
    from tests.support.ports import free_port
    from tests.support.postgres import database
    from tests.support.venue import GatewayProcess, wait_until

    if args.store == "sqlite" and args.gateways != 1:
        raise SystemExit("a SQLite store has one gateway process: use --store postgresql for more")
    county = TestCounty()
    seeds = {f"k-f{i:05d}": os.urandom(32) for i in range(args.kiosks)}
    venues = {k: f"v-f{i // 4:04d}" for i, k in enumerate(seeds)}
    for k, seed in seeds.items():
        county.kiosk_keys[k] = keys.private_key_from_seed(seed)
    backlog_kiosks = list(seeds)[:args.backlog_kiosks] if args.profile == "village-backlog" else []
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        url = stack.enter_context(database()) if args.store == "postgresql" else f"sqlite:///{folder / 'g.sqlite3'}"
        tls: dict[str, Tls] = {}
        broker_settings: dict[str, object] = {}
        files: dict[str, object] = {}
        if args.tls:  # the county's own setup: enrolled kiosks, the generated mTLS broker config and ACL
            home, tls = enrol(folder / "county", venues, seeds)
            county = TestCounty(county_id=home.county_id, issuer=home.issuer_key(), kiosk_keys=county.kiosk_keys)
            port = free_port()
            for n in range(1, args.gateways):  # one certificate per process: the broker ties client id to CN
                gateway_identities.add(home, f"gateway-{n + 1}")
            conf, _ = broker_config.write(home, folder / "broker", port=port, address="127.0.0.1",
                                          user=getpass.getuser())
            broker = Mosquitto(folder / "broker", port=port).start(conf)
            broker_settings = {"host": "localhost", "tls": True, "ca_file": str(home.path_of("device-ca.pem"))}
            files = {"registry": str(home.path_of("registry.jws")),
                     "revoked_cards": str(home.path_of("revoked-cards.jws")), "staff": str(home.path_of("staff.jws"))}
        else:
            broker = Mosquitto(folder / "broker").start()
        stack.callback(broker.kill)
        gateways = []
        inbox = {"inbox_max_messages": args.inbox_messages} if args.inbox_messages else {}
        for n in range(args.gateways):
            cn = "gateway" if args.tls and n == 0 else f"gateway-{n + 1}"  # with --tls: its certificate's CN
            identity = ({"cert_file": str(home.path_of(f"gateway/{cn}.pem")),
                         "key_file": str(home.path_of(f"gateway/{cn}.key"))} if args.tls else {})
            g = GatewayProcess(county, folder / f"gateway-{n}", broker, kiosks=venues, metrics_port=free_port(),
                               store_url=url, client_id=cn,
                               settings={"gap_grace_seconds": args.gap_grace, **files, **inbox},
                               broker_settings={**broker_settings, **identity})
            gateways.append(g)
            stack.callback(g.kill)
            g.start()
            wait_until("the gateway to be healthy", lambda g=g: healthy(g.metrics_port), 120)
        cpu0 = {g.client_id: cpu_seconds(g.proc.pid) for g in gateways}  # type: ignore[union-attr]
        ids = list(seeds)
        shares = [ids[i::args.processes] for i in range(args.processes)]
        start_at = time.time() + 5 + args.kiosks / 200
        profile = {"name": args.profile, "duration": args.duration, "residents": args.residents,
                   "rate": args.rate, "backlog": args.backlog, "window": args.window,
                   "resend_after": args.resend_after, "settle_timeout": args.settle_timeout}
        workers = []
        for n, share in enumerate(shares):
            spec = {"port": broker.port, "kiosks": [(k, venues[k], seeds[k].hex()) for k in share],
                    "backlog_kiosks": [k for k in share if k in backlog_kiosks], "all_backlog": backlog_kiosks,
                    "fleet_size": args.kiosks, "profile": profile, "seed": n, "start_at": start_at,
                    "ready": str(folder / f"ready-{n}"), "out": str(folder / f"out-{n}.json"),
                    "tls": {k: [str(tls[k].ca), str(tls[k].cert), str(tls[k].key)] for k in share if k in tls}}
            (folder / f"spec-{n}.json").write_text(json.dumps(spec))
            workers.append(subprocess.Popen([sys.executable, "-m", "bench.fleet", "--worker",
                                             str(folder / f"spec-{n}.json")], cwd=ROOT))
        wait_until("the fleet to connect", lambda: all((folder / f"ready-{n}").exists() for n in range(len(shares))),
                   max(120, start_at - time.time() + 60))
        if time.time() > start_at:
            print("warning: the fleet connected after the start time; the profile starts late", file=sys.stderr)
        for w in workers:
            w.wait()
        cpu1 = {g.client_id: cpu_seconds(g.proc.pid) for g in gateways}  # type: ignore[union-attr]
        dup = sum(metric(g.metrics_port, "learncard_gateway_records_duplicate") for g in gateways)
        resends = sum(metric(g.metrics_port, "learncard_gateway_resend_requests") for g in gateways)
        store = gateways[0].store()
        committed = {r[0]: int(r[1]) for r in store.query("SELECT id, committed_ms FROM records")}
        rows = store.count()
        store.close()
        outs = [json.loads((folder / f"out-{n}.json").read_text()) for n in range(len(shares))]
    return figures(args, outs, committed, rows, dup, resends, cpu1, cpu0)


def figures(args: argparse.Namespace, outs: list[dict[str, Any]], committed: dict[str, int], rows: int,
            dup: float, resends: float, cpu1: dict[str, float], cpu0: dict[str, float]) -> dict[str, Any]:
    latencies: list[float] = []
    receipts: list[float] = []  # tap → the kiosk holding the receipt (after the commit, and back)
    per_kiosk_p99: list[float] = []
    made = lost = live_lost = 0
    totals: dict[str, int] = {}
    drained: dict[str, float] = {}
    for out in outs:
        drained.update(out["drained"])
        for kiosk in out["kiosks"].values():
            for key, value in kiosk["stats"].items():
                totals[key] = totals.get(key, 0) + value
            mine = []
            for record_id in kiosk["taps"]:
                made += 1
                if record_id not in committed:
                    lost += 1
            for record_id in kiosk["live"]:
                if record_id in committed:
                    mine.append(committed[record_id] / 1000 - kiosk["taps"][record_id])
                else:
                    live_lost += 1
                if record_id in kiosk["settled_at"]:
                    receipts.append(kiosk["settled_at"][record_id] - kiosk["taps"][record_id])
            latencies += mine
            if mine:
                per_kiosk_p99.append(percentile(mine, 99))
    cpu = sum(cpu1.values()) - sum(cpu0.values())
    backlog_total = args.backlog * len(drained)
    return {
        "kiosks": args.kiosks, "profile": args.profile, "gateways": args.gateways, "store": args.store,
        "made": made, "stored": rows, "lost": lost, "stored_twice": rows - len(committed),
        "live_n": len(latencies),
        "p50_ms": median(latencies) * 1000 if latencies else None,
        "p99_ms": percentile(latencies, 99) * 1000 if latencies else None,
        "receipt_n": len(receipts),
        "receipt_p50_ms": median(receipts) * 1000 if receipts else None,
        "receipt_p99_ms": percentile(receipts, 99) * 1000 if receipts else None,
        "kiosk_p99_median_ms": median(per_kiosk_p99) * 1000 if per_kiosk_p99 else None,
        "kiosk_p99_worst_ms": max(per_kiosk_p99) * 1000 if per_kiosk_p99 else None,
        "received_again": dup, "resend_requests": resends,
        "gateway_cpu_s": cpu, "cpu_per_1000_s": cpu / max(1, made) * 1000,
        "cpu_each_s": {k: cpu1[k] - cpu0[k] for k in cpu0},
        "drain_s": max(drained.values()) if drained else None,
        "drain_rate": backlog_total / max(drained.values()) if drained else None,
        "kiosk_totals": totals,
    }


def options() -> argparse.ArgumentParser:
    """The simulator's options, with their defaults (``main`` and the benches share them)."""
    parser = argparse.ArgumentParser(prog="python -m bench.fleet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kiosks", type=int, default=100, help="simulated kiosks (K)")
    parser.add_argument("--profile", choices=PROFILES, default="morning-peak")
    parser.add_argument("--gateways", type=int, default=1, help="gateway processes (N)")
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds the profile lasts")
    parser.add_argument("--residents", type=int, default=10, help="morning peak: arrivals per kiosk")
    parser.add_argument("--rate", type=float, default=100.0, help="live-rate: taps/s over the fleet")
    parser.add_argument("--backlog", type=int, default=10_000, help="village-backlog: records per backlog kiosk")
    parser.add_argument("--backlog-kiosks", type=int, default=1, help="village-backlog: kiosks with a backlog")
    parser.add_argument("--processes", type=int, default=0, help="worker processes (default: 1 per 250 kiosks)")
    parser.add_argument("--window", type=int, default=8, help="messages in flight per kiosk")
    parser.add_argument("--resend-after", type=float, default=30.0, help="kiosk: offer again after this long")
    parser.add_argument("--gap-grace", type=int, default=5, help="gateway.gap_grace_seconds")
    parser.add_argument("--inbox-messages", type=int, default=0,
                        help="gateway.inbox_max_messages (default: the gateway's own, 256)")
    parser.add_argument("--settle-timeout", type=float, default=300.0, help="wait this long for every receipt")
    parser.add_argument("--tls", action="store_true",
                        help="the county's setup: enrolled kiosks with certificates, the generated mTLS broker "
                             "configuration and ACL (default: a plain loopback listener)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    return parser


def arguments(argv: list[str] | None = None, **values: Any) -> argparse.Namespace:
    """The options as ``python -m bench.fleet`` would read them from ``argv``, then ``values``
    (the benches' scenarios: every option they do not name keeps its default)."""
    args = options().parse_args(argv or [])
    for name, value in values.items():
        if not hasattr(args, name):
            raise TypeError(f"bench.fleet has no option {name!r}")
        setattr(args, name, value)
    args.processes = args.processes or max(1, min(4, (args.kiosks + 249) // 250))
    return args


def main() -> int:
    args = arguments(sys.argv[1:])
    if args.worker:
        return worker(args.worker)
    got = simulate(args)
    if args.json:
        print(json.dumps(got, indent=1))
    else:
        print(report(got))
    return 1 if got["lost"] else 0


def report(f: dict[str, Any]) -> str:
    def ms(x: float | None) -> str:
        return "—" if x is None else f"{x:,.1f} ms"
    lines = [
        f"{f['kiosks']} kiosks, {f['profile']}, {f['gateways']} gateway process(es), {f['store']}",
        f"records made {f['made']:,}, stored {f['stored']:,}, lost {f['lost']}, stored twice {f['stored_twice']}",
        f"tap → gateway commit (store committed_ms): p50 {ms(f['p50_ms'])}, p99 {ms(f['p99_ms'])} "
        f"(n = {f['live_n']:,}); per kiosk p99: median {ms(f['kiosk_p99_median_ms'])}, "
        f"worst {ms(f['kiosk_p99_worst_ms'])}",
        f"tap → receipt at the kiosk: p50 {ms(f['receipt_p50_ms'])}, p99 {ms(f['receipt_p99_ms'])} "
        f"(n = {f['receipt_n']:,})",
        f"received again at the gateways {f['received_again']:,.0f}; resend requests {f['resend_requests']:,.0f}",
        f"gateway CPU {f['gateway_cpu_s']:.1f} s = {f['cpu_per_1000_s']:.3f} s per 1,000 records",
    ]
    if f["drain_rate"]:
        lines.append(f"backlog drained in {f['drain_s']:.1f} s = {f['drain_rate']:,.0f} records/s")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
