"""``python -m awsdb_e6data.engine``: run the test engine until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (``awsdb-e6data-engine``)."""
    parser = argparse.ArgumentParser(prog="awsdb-e6data-engine", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--tls-port", type=int, default=None)
    parser.add_argument(
        "--tls-dir",
        type=Path,
        default=None,
        help="write a fresh test CA (ca.pem) and server certificate here",
    )
    parser.add_argument("--catalog", action="append", default=None)
    parser.add_argument("--user", default="user")
    parser.add_argument("--password", default="secret")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--decimal-mode", choices=("binary", "text"), default="binary")
    parser.add_argument("--interval-mode", choices=("micros", "string"), default="micros")
    parser.add_argument(
        "--setup-sql",
        action="append",
        default=[],
        help="SQL run in the default catalog before serving",
    )
    args = parser.parse_args(argv)

    from ._server import Engine

    cert = key = None
    if args.tls_port is not None:
        from ._tls import make_test_certificates

        certs = make_test_certificates()
        cert, key = certs.cert_pem, certs.key_pem
        if args.tls_dir is not None:
            certs.write(args.tls_dir)
    engine = Engine(
        host=args.host,
        port=args.port,
        tls_port=args.tls_port,
        tls_cert=cert,
        tls_key=key,
        catalogs=tuple(args.catalog or ["e6data"]),
        users={args.user: args.password},
        batch_size=args.batch_size,
        decimal_mode=args.decimal_mode,
        interval_mode=args.interval_mode,
    )
    for statement in args.setup_sql:
        engine.sql(statement)
    engine.start()
    tls = f" tls={engine.tls_port}" if engine.tls_port else ""
    print(f"e6data engine listening on {args.host} port={engine.port}{tls}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
