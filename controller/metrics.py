"""Prometheus metrics: Bitnami's names (dashboards and alerts keep working) plus the key health
this controller adds (key count, newest key age, private-key operations)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

PREFIX = "sealed_secrets_controller"


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None, version: str = ""):
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.build_info = Gauge(f"{PREFIX}_build_info", "Build information.", ["revision"], registry=r)
        self.build_info.labels(version).set(1)
        self.unseal_requests = Counter(
            f"{PREFIX}_unseal_requests", "Total number of sealed secret unseal requests", registry=r
        )
        self.unseal_errors = Counter(
            f"{PREFIX}_unseal_errors",
            "Total number of sealed secret unseal errors by reason",
            ["reason", "namespace"],
            registry=r,
        )
        self.condition_info = Gauge(
            f"{PREFIX}_condition_info",
            "Current SealedSecret condition status. Values are -1 (false), 0 (unknown or absent), 1 (true)",
            ["namespace", "name", "condition", "ss_app_kubernetes_io_instance"],
            registry=r,
        )
        self.http_requests = Counter(
            f"{PREFIX}_http_requests",
            "Total number of HTTP requests by path and status code.",
            ["path", "code", "method"],
            registry=r,
        )
        self.http_duration = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "HTTP request latencies in seconds.",
            ["path", "method"],
            registry=r,
        )
        self.secret_drift = Counter(
            f"{PREFIX}_secret_drift",
            "Secrets found changed behind their SealedSecret's back, "
            "by what was done (repaired, or reported with --repair-drift=false).",
            ["namespace", "action"],
            registry=r,
        )
        self.leader = Gauge(
            f"{PREFIX}_leader",
            "1 if this replica leads: only the leader writes Secrets, statuses, events and keys.",
            registry=r,
        )
        self.reconcile_duration = Histogram(
            f"{PREFIX}_reconcile_duration_seconds", "Time to reconcile one SealedSecret.", registry=r
        )

    def watch_keys(
        self, count: Callable[[], int], newest_age: Callable[[], float], operations: Callable[[], int]
    ) -> None:
        """Key gauges read at scrape time, so they are never stale."""

        class KeyCollector:
            def collect(self) -> Iterator[Metric]:  # prometheus_client's collector protocol
                yield GaugeMetricFamily(f"{PREFIX}_keys", "Number of active sealing keys.", value=count())
                yield GaugeMetricFamily(
                    f"{PREFIX}_newest_key_age_seconds", "Age of the newest (sealing) key.", value=newest_age()
                )
                yield CounterMetricFamily(
                    f"{PREFIX}_private_key_operations", "RSA private-key operations performed.", value=operations()
                )

        self.registry.register(KeyCollector())

    def watch_escrow(
        self, without: Callable[[], int], longest: Callable[[], float], recipients: Callable[[], int]
    ) -> None:
        """Escrow gauges (controller/escrow.py), read at scrape time."""

        class EscrowCollector:
            def collect(self) -> Iterator[Metric]:  # prometheus_client's collector protocol
                yield GaugeMetricFamily(
                    f"{PREFIX}_keys_without_escrow",
                    "Active keys without an escrow object sealed for the current recipients "
                    "(0 when no escrow recipients are configured).",
                    value=without(),
                )
                yield GaugeMetricFamily(
                    f"{PREFIX}_key_without_escrow_seconds",
                    "How long the key that has lacked escrow longest has lacked it (0: none lacks it).",
                    value=longest(),
                )
                yield GaugeMetricFamily(
                    f"{PREFIX}_escrow_recipients", "Usable escrow recipient certificates.", value=recipients()
                )

        self.registry.register(EscrowCollector())

    def set_condition(self, namespace: str, name: str, value: int, instance: str = "") -> None:
        self.condition_info.labels(namespace, name, "Synced", instance).set(value)

    def drop_condition(self, namespace: str, name: str, instance: str = "") -> None:
        try:
            self.condition_info.remove(namespace, name, "Synced", instance)
        except KeyError:
            pass


class MetricsEndpoint:
    """``/metrics`` for controller.http_server, so the metrics port has the API's deadlines and
    connection cap (prometheus_client's own server takes a thread per connection, for ever)."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def client(self, peer: str, forwarded_for: object = ()) -> str:
        return peer

    def expensive(self, method: str, path: str) -> bool:
        # Answered on its own server's loop: scrapes never wait for a worker (two Prometheus
        # replicas scraping at once must both get an answer), and the API's loop is another.
        return False

    def admit(self, method: str, path: str, client: str) -> None:
        return None

    def process(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes, dict[str, Any]]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if path not in ("/metrics", "/"):
            return 404, "text/plain; charset=utf-8", b"not found\n", {}
        return 200, CONTENT_TYPE_LATEST, generate_latest(self.metrics.registry), {}
