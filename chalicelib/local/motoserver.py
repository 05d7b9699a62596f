"""The local AWS: a moto server on loopback, quiet, with docker-less Lambda."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import warnings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    """Run ``python -m chalicelib.local.motoserver --port 4566`` until SIGINT/SIGTERM."""
    from moto.server import ThreadedMotoServer

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    # moto logs every request through Werkzeug; that drowns the stack's own output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # moto warns about each resource type its CloudFormation skips; infra/README.md lists them.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
