"""``plugyard``: the publisher and developer CLI (console script; see docs/quickstart.md).

Talks to the Plugyard API over HTTP only; ``validate`` and ``package`` run the server's own checks
(chalicelib/domain/manifest.py, artifact.py) offline. The operator CLI is chalicelib/cli.py (plugyard-admin).
"""
