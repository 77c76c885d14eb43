"""Command line: ``python -m okms_emulator serve|stop``."""

import argparse
import json
import os
import signal
import sys
import threading
import time

from .app import Emulator
from .faults import KINDS, METHODS, PLANES, FaultConfig, FaultConfigError
from .ordering_v1 import SUBSIDIARIES


def _fault_config(args, parser):
    try:
        return FaultConfig(rate=args.fault_rate, kinds=args.fault_kinds, seed=args.fault_seed,
                           methods=args.fault_methods, paths=args.fault_paths, planes=args.fault_planes,
                           slow_seconds=args.fault_slow_seconds)
    except FaultConfigError as exc:
        parser.error(f"--fault-{exc.setting.replace('_', '-')} {exc.problem}")


def _serve(args):
    emu = Emulator(
        args.state_dir, host=args.host, port=args.port, data_port=args.data_port,
        credential_ready_delay=args.credential_ready_delay,
        credential_delete_delay=args.credential_delete_delay,
        order_delivery_delay=args.order_delivery_delay,
        token_lifetime=args.token_lifetime, max_clock_skew=args.max_clock_skew,
        page_size=args.page_size, max_page_size=args.max_page_size, verbose=args.verbose,
        subsidiary=args.subsidiary, faults=args.faults,
        kmip_port=args.kmip_port, kmip_rsa_port=args.kmip_rsa_port,
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    emu.start()
    kmip = f"  kmip {emu.kmip_endpoint}" if emu.kmip_endpoint else ""
    kmip += f"  kmip-rsa {emu.kmip_rsa_endpoint}" if emu.kmip_rsa_endpoint else ""
    print(f"okms-emulator: control {emu.endpoint}  data {emu.data_endpoint}{kmip}  "
          f"({emu.connection_path})", flush=True)
    while not stop.wait(0.5):
        pass
    emu.stop()
    return 0


def _stop(args):
    path = os.path.join(args.state_dir, "connection.json")
    try:
        with open(path, encoding="utf-8") as handle:
            pid = json.load(handle)["pid"]
    except (OSError, ValueError, KeyError):
        print(f"no running emulator found ({path})", file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        if not os.path.exists(path):
            return 0
        time.sleep(0.1)
    print("emulator did not stop in time", file=sys.stderr)
    return 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="okms_emulator", description="Local OVHcloud KMS (OKMS) API emulator")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the emulator until SIGTERM/SIGINT")
    serve.add_argument("--state-dir", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="control plane port (0: any free port)")
    serve.add_argument("--data-port", type=int, default=0, help="data plane (mTLS) port (0: any free port)")
    serve.add_argument("--kmip-port", type=int, default=0,
                       help="KMIP port, ECDSA server certificate (0: any free port; negative: no KMIP listener)")
    serve.add_argument("--kmip-rsa-port", type=int, default=0,
                       help="KMIP port, RSA server certificate (0: any free port; negative: no RSA listener)")
    serve.add_argument("--credential-ready-delay", type=float, default=2.0,
                       help="seconds a new credential stays CREATING (default 2)")
    serve.add_argument("--credential-delete-delay", type=float, default=1.0,
                       help="seconds a deleted credential stays DELETING before 404 (default 1)")
    serve.add_argument("--order-delivery-delay", type=float, default=2.0,
                       help="seconds from payment to delivery (default 2)")
    serve.add_argument("--token-lifetime", type=int, default=3599,
                       help="OAuth2 access token lifetime in seconds (default 3599)")
    serve.add_argument("--max-clock-skew", type=int, default=60,
                       help="accepted |X-Ovh-Timestamp - server time| in seconds (default 60)")
    serve.add_argument("--page-size", type=int, default=3,
                       help="default v2 page size when X-Pagination-Size is absent (default 3)")
    serve.add_argument("--max-page-size", type=int, default=100,
                       help="largest honoured X-Pagination-Size (default 100)")
    serve.add_argument("--subsidiary", default="FR", choices=sorted(SUBSIDIARIES),
                       help="the account's OVHcloud subsidiary (ovhSubsidiary of GET /me; default FR)")
    serve.add_argument("--verbose", action="store_true", help="log requests and TLS errors to stderr")
    faults = serve.add_argument_group(
        "fault injection", "off by default; also changed at run time with GET/PUT /_emulator/faults")
    faults.add_argument("--fault-rate", type=float, default=0.0,
                        help="share of targeted requests that get a fault, 0 to 1 (default 0: off)")
    faults.add_argument("--fault-kinds", default=",".join(KINDS),
                        help=f"comma-separated kinds, chosen uniformly (default: all of {','.join(KINDS)})")
    faults.add_argument("--fault-seed", type=int, default=None,
                        help="seed of the fault sequence, for repeatable runs (default: random)")
    faults.add_argument("--fault-methods", default="",
                        help=f"comma-separated HTTP methods to target, of {','.join(METHODS)} (default: all)")
    faults.add_argument("--fault-paths", default=None,
                        help="regular expression searched in the request path (default: every path)")
    faults.add_argument("--fault-planes", default=",".join(PLANES),
                        help="comma-separated planes to target: control, data (default: both)")
    faults.add_argument("--fault-slow-seconds", type=float, default=1.0,
                        help="delay of a 'slow' answer in seconds (default 1)")
    serve.set_defaults(func=_serve)

    stop = sub.add_parser("stop", help="SIGTERM the emulator of a state dir and wait for it")
    stop.add_argument("--state-dir", required=True)
    stop.add_argument("--timeout", type=float, default=10.0)
    stop.set_defaults(func=_stop)

    args = parser.parse_args(argv)
    if args.command == "serve":
        args.faults = _fault_config(args, serve)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
