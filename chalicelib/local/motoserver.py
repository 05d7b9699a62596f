"""The local AWS: a moto server on loopback, quiet, with docker-less Lambda."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["AtomicDynamoWrites", "UnsignedPreflights", "main"]

MOTO_THREADS = 64
DYNAMO_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})


class AtomicDynamoWrites:
    """WSGI middleware: one DynamoDB write at a time, as DynamoDB applies each write atomically.

    moto's server handles requests on threads without a lock, so two concurrent conditional writes can both
    pass their condition (two ``ADD`` under ``n < cap`` both admitted at ``cap - 1``). Serialising writes makes
    check-and-set behave as on AWS; reads stay concurrent. moto holds the GIL while it works anyway, so this
    costs little throughput.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not (target.startswith("DynamoDB_") and target.rpartition(".")[2] in DYNAMO_WRITES):
            return self._app(environ, start_response)
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]  # the whole response is produced under the lock
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


class UnsignedPreflights:
    """WSGI middleware: a browser's CORS preflight is judged by the bucket's CORS rules alone, as S3 judges it.

    The web console PUTs a zip to a presigned URL from another origin, so the browser first sends OPTIONS to that
    URL, query string (the PUT's signature) included. S3 never checks a signature on a preflight; moto checks the
    PUT's signature against the OPTIONS request and answers 403 SignatureDoesNotMatch, so no browser upload could
    start locally. For preflights only, the query string is left out before moto sees the request.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            environ = {**environ, "QUERY_STRING": ""}
        return self._app(environ, start_response)


def main(argv: list[str] | None = None) -> None:
    """Run ``python -m chalicelib.local.motoserver --port 4566`` until SIGINT/SIGTERM."""
    import waitress.server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from chalicelib.local.moto_speedups import freeze_survivors_of_full_collections
    from chalicelib.local.moto_speedups import install as cheap_requests
    from chalicelib.local.moto_streams import install as stream_long_polling
    from chalicelib.local.moto_transactions import install as cheap_transactions

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4566)
    args = parser.parse_args(argv)
    # moto warns about each resource type its CloudFormation skips; infra/README.md lists them.
    logging.getLogger("moto").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")
    # Transactions at the cost of their items, not of whole tables (see moto_transactions).
    cheap_transactions()
    # Routing, query and event-rule work that moto repeats on every request, done once (see moto_speedups).
    cheap_requests()
    # Full garbage collections walk only what was made since the last one, not all of moto's state.
    freeze_survivors_of_full_collections()
    # GetRecords waits briefly for a record, as an SQS long poll does (see moto_streams).
    stream_long_polling()
    # waitress rather than moto's own werkzeug server: werkzeug's closes the connection after every response,
    # so each AWS call paid a new connection and a new thread. Threads are many because long polls (SQS
    # receives, stream reads) hold one each while they wait.
    app = UnsignedPreflights(AtomicDynamoWrites(DomainDispatcherApplication(create_backend_app)))
    server = waitress.server.create_server(app, host=args.host, port=args.port, threads=MOTO_THREADS, ident="moto")
    threading.Thread(target=server.run, name="moto-server", daemon=True).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.close()


if __name__ == "__main__":
    main()
