"""The gateway's Prometheus metrics and its /metrics and /healthz endpoints."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter("learncard_gateway_messages", "record messages received", registry=r)
        self.stored = Counter("learncard_gateway_records_stored", "records verified and committed", registry=r)
        self.duplicates = Counter("learncard_gateway_records_duplicate",
                                  "records re-sent unchanged (stored once, settled again)", registry=r)
        self.rejected = Counter("learncard_gateway_records_rejected", "records rejected and recorded",
                                ["reason"], registry=r)
        self.refused = Counter("learncard_gateway_lines_refused",
                               "lines that are not the kiosk's records (contract 1.1; table refused)",
                               ["reason"], registry=r)
        self.message_errors = Counter("learncard_gateway_message_errors", "messages refused whole",
                                      ["error"], registry=r)
        self.flagged = Counter("learncard_gateway_records_clock_flagged", "records with an implausible clock",
                               registry=r)
        self.resends = Counter("learncard_gateway_resend_requests", "cmd/resend sent for gaps", registry=r)
        self.connected = Gauge("learncard_gateway_broker_connected", "1 while connected to the broker", registry=r)
        self.document_version = Gauge("learncard_gateway_county_document_version",
                                      "version of each county document in force", ["kind"], registry=r)
        self.documents_too_large = Counter("learncard_gateway_county_document_too_large",
                                           "county documents not published: over the broker's message limit",
                                           ["kind"], registry=r)
        self.queue = Gauge("learncard_gateway_queue", "messages received, not yet processed", registry=r)
        self.queue_bytes = Gauge("learncard_gateway_queue_bytes", "bytes of messages received, not yet processed",
                                 registry=r)
        self.shed = Counter("learncard_gateway_messages_shed",
                            "messages dropped unread (no receipt: the kiosk offers them again)", ["reason"],
                            registry=r)
        self.error_receipts_suppressed = Counter("learncard_gateway_error_receipts_suppressed",
                                                 "error receipts not sent: over the kiosk's budget", registry=r)
        self.skew = Gauge("learncard_gateway_kiosk_clock_skew_seconds",
                          "each kiosk's wall clock minus the gateway's (from its live status)", ["kiosk"],
                          registry=r)
        self.relayed = Gauge("learncard_relay_statements_delivered", "statements the LRS accepted (this run)",
                             registry=r)
        self.deadletters = Gauge("learncard_relay_deadletters", "statements in the dead-letter table", registry=r)
        self.relay_lag = Gauge("learncard_relay_lag_records", "committed records not yet relayed", registry=r)
        self.relay_holder = Gauge("learncard_relay_holder", "1 while this process holds the relay lease (one "
                                  "gateway process relays at a time)", registry=r)
        self.breaker_open = Gauge("learncard_relay_breaker_open", "1 while the circuit breaker is open",
                                  registry=r)


def serve(metrics: Metrics, host: str, port: int,
          health: Callable[[], tuple[bool, list[str]]]) -> ThreadingHTTPServer:
    """/metrics, and /healthz: 200 "ok", or 503 with one reason per line."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            if self.path.startswith("/metrics"):
                body, status, kind = generate_latest(metrics.registry), 200, CONTENT_TYPE_LATEST
            elif self.path.startswith("/healthz"):
                ok, reasons = health()
                text = "ok\n" if ok else "".join(f"{reason}\n" for reason in reasons)
                body, status, kind = text.encode(), (200 if ok else 503), "text/plain; charset=utf-8"
            else:
                body, status, kind = b"not found\n", 404, "text/plain"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
