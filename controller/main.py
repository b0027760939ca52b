"""``sealer-controller``: wires the keys, the watch loop, the HTTP API and the metrics together."""

from __future__ import annotations

import logging
import signal
import sys
import threading

from controller import config as flags
from controller.logs import setup as setup_logging
from sealer._version import __version__

log = logging.getLogger("controller")


def main(argv: list[str] | None = None) -> int:
    args = flags.parser().parse_args(argv)
    if args.version:
        print(f"controller version: v{__version__}")
        return 0
    if args.log_format not in ("text", "json"):
        print(f"error: --log-format must be text or json, not {args.log_format!r}", file=sys.stderr)
        return 2
    if args.log_level.upper() not in ("DEBUG", "INFO", "WARN", "WARNING", "ERROR"):
        print(f"error: --log-level must be DEBUG, INFO, WARN or ERROR, not {args.log_level!r}", file=sys.stderr)
        return 2
    from controller.http_api import parse_listen_addr

    for flag, addr in (("--listen-addr", args.listen_addr), ("--listen-metrics-addr", args.listen_metrics_addr)):
        try:
            parse_listen_addr(addr)
        except ValueError as e:
            print(f"error: {flag}: {e}", file=sys.stderr)
            return 2
    setup_logging(args.log_format, args.log_level)
    try:
        cfg = flags.Config(args)
        rotation = cfg.rotation
        ttl = cfg.key_ttl
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    # Heavy imports only once the flags are known to be good.
    from controller.controller import Controller, Settings
    from controller.forwarded import TrustedProxies
    from controller.http_api import Api, RequestLimits
    from controller.http_server import serve, server_limits
    from controller.keys_manager import KeySettings, KeysManager
    from sealer.kube import Kube
    from controller.metrics import Metrics, MetricsEndpoint
    from keys.secret_format import validate_prefix

    namespace = flags.own_namespace()
    try:
        prefix = validate_prefix(args.key_prefix)
        kube = Kube.from_kubeconfig(args.kubeconfig or None, program="sealer-controller")
    except Exception as e:  # noqa: BLE001 - a bad flag or kubeconfig: one line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2

    stop = threading.Event()
    metrics = Metrics(version=__version__)
    controller_ref: list[Controller] = []
    keys = KeysManager(kube, KeySettings(namespace, prefix, args.key_size, ttl, args.my_cn, rotation),
                       on_change=lambda: controller_ref and controller_ref[0].requeue_failed())
    ctrl = Controller(kube, keys, metrics, Settings(
        namespaces=flags.namespaces(args, namespace), label_selector=args.label_selector or None,
        update_status=args.update_status, skip_recreate=args.skip_recreate,
        max_retries=args.max_unseal_retries, workers=flags.workers(args), repair_drift=args.repair_drift))
    controller_ref.append(ctrl)
    metrics.watch_keys(lambda: len(keys.registry), keys.newest_age_seconds, lambda: keys.registry.private_key_operations)

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: keys.request_rotation())

    ready = lambda: len(keys.registry) > 0 and ctrl.synced  # noqa: E731
    api = Api(keys.registry, metrics, ready, rate=args.rate_limit, burst=args.rate_limit_burst,
              limits=RequestLimits(max_items=args.max_request_items), proxies=TrustedProxies(args.trusted_proxies))
    serve(api, args.listen_addr, stop, server_limits(args))
    serve(MetricsEndpoint(metrics), args.listen_metrics_addr, stop, server_limits(args))
    log.info("sealer-controller v%s: namespace %s, watching %s; API on %s, metrics on %s", __version__, namespace,
             ",".join(ctrl.settings.namespaces) if ctrl.settings.namespaces else "all namespaces",
             args.listen_addr, args.listen_metrics_addr)

    keys.start(stop)
    ctrl.run(stop)
    log.info("stopped")
    return 0


def run() -> None:
    sys.exit(main())
