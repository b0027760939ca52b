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
        retired_grace = cfg.retired_grace
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    # Heavy imports only once the flags are known to be good.
    from controller.certificates import CertificatePublisher
    from controller.controller import Controller, Settings
    from controller.escrow import EscrowKeeper
    from controller.forwarded import TrustedProxies
    from controller.http_api import Api, RequestLimits
    from controller.http_server import serve, server_limits
    from controller.keys_manager import KeySettings, KeysManager
    from controller.leader import AlwaysLeader, LeaderElector, election_config
    from controller.metrics import Metrics, MetricsEndpoint
    from controller.ratelimit import RateLimiter
    from keys.secret_format import validate_name, validate_prefix
    from sealer.kube import Kube

    namespace = flags.own_namespace()
    try:
        prefix = validate_prefix(args.key_prefix)
        if args.escrow_recipients:
            validate_name(args.escrow_recipients, "--escrow-recipients")
        election = election_config(args, namespace) if args.leader_elect else None
        limiter = RateLimiter(args.kubeclient_qps, args.kubeclient_burst) if args.kubeclient_qps > 0 else None
        kube = Kube.from_kubeconfig(args.kubeconfig or None, program="sealer-controller")
        kube.throttle = (lambda: limiter.wait("kube")) if limiter is not None else None
    except Exception as e:  # noqa: BLE001 - a bad flag or kubeconfig: one line, not a traceback
        print(f"error: {e}", file=sys.stderr)
        return 2

    stop = threading.Event()
    metrics = Metrics(version=__version__)
    controller_ref: list[Controller] = []
    escrow_ref: list[EscrowKeeper] = []

    def leadership(leading: bool) -> None:
        metrics.leader.set(1 if leading else 0)
        if controller_ref:
            controller_ref[0].set_leading(leading)
        keys.leadership_changed()
        if escrow_ref:
            escrow_ref[0].wake()
        if publisher is not None:
            publisher.wake()

    elector = LeaderElector(kube, election, on_change=leadership) if election else AlwaysLeader()
    metrics.leader.set(1 if elector.is_leader else 0)

    publisher: CertificatePublisher | None = None

    def requeue_failed() -> None:  # new keys may open what failed before
        if controller_ref:
            controller_ref[0].requeue_failed()
        if escrow_ref:
            escrow_ref[0].wake()  # a new key wants its escrow object now
        if publisher is not None:
            publisher.wake()

    keys = KeysManager(
        kube,
        KeySettings(
            namespace, prefix, args.key_size, ttl, args.my_cn, rotation, pq=args.pq_keys, retired_grace=retired_grace
        ),
        on_change=requeue_failed,
        leading=lambda: elector.is_leader,
    )
    ctrl = Controller(
        kube,
        keys,
        metrics,
        Settings(
            namespaces=flags.namespaces(args, namespace),
            label_selector=args.label_selector or None,
            update_status=args.update_status,
            skip_recreate=args.skip_recreate,
            max_retries=args.max_unseal_retries,
            workers=flags.workers(args),
            repair_drift=args.repair_drift,
        ),
    )
    if args.certificate_configmap:
        publisher = CertificatePublisher(kube, keys, args.certificate_configmap, leading=lambda: elector.is_leader)
        keys.on_secrets = publisher.wake
        threading.Thread(target=publisher.run, args=(stop,), name="certificate-configmap", daemon=True).start()
    if not elector.is_leader:
        ctrl.active.clear()
    controller_ref.append(ctrl)
    metrics.watch_keys(
        lambda: len(keys.registry), keys.newest_age_seconds, lambda: keys.registry.private_key_operations
    )

    if args.escrow_recipients:
        keeper = EscrowKeeper(kube, namespace, args.escrow_recipients, keys.registry, leading=lambda: elector.is_leader)
        escrow_ref.append(keeper)
        metrics.watch_escrow(
            keeper.keys_without_escrow, keeper.longest_without_escrow_seconds, lambda: keeper.recipient_count
        )

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGUSR1, lambda *_: keys.request_rotation())

    ready = lambda: len(keys.registry) > 0 and ctrl.synced  # noqa: E731
    api = Api(
        keys.registry,
        metrics,
        ready,
        rate=args.rate_limit,
        burst=args.rate_limit_burst,
        limits=RequestLimits(max_items=args.max_request_items),
        proxies=TrustedProxies(args.trusted_proxies),
    )
    serve(api, args.listen_addr, stop, server_limits(args))
    serve(MetricsEndpoint(metrics), args.listen_metrics_addr, stop, server_limits(args))
    log.info(
        "sealer-controller v%s: namespace %s, watching %s; API on %s, metrics on %s; %s",
        __version__,
        namespace,
        ",".join(ctrl.settings.namespaces) if ctrl.settings.namespaces else "all namespaces",
        args.listen_addr,
        args.listen_metrics_addr,
        f"leader election on Lease {namespace}/{election.name} as {election.identity}"
        if election
        else "leader election off",
    )

    threading.Thread(target=elector.run, args=(stop,), name="leader-election", daemon=True).start()
    keys.start(stop)
    for keeper in escrow_ref:  # after the keys are loaded: each one is checked on the first round
        threading.Thread(target=keeper.run, args=(stop,), name="escrow", daemon=True).start()
    ctrl.run(stop)  # returns once the workers have finished the items in hand
    elector.release()  # the next replica takes over now, not when the Lease expires
    log.info("stopped")
    return 0


def run() -> None:
    sys.exit(main())
