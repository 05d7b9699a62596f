"""Publisher signing keys on this machine: Ed25519 private keys kept 0600 under the CLI's config folder.

A key lives at ``<config>/plugyard/keys/<publisher>/<key_id>.pem`` once the API registered its public half
(``POST /api/publisher/keys``, which names the key). Signatures are what the API verifies
(chalicelib/domain/publisher_signing.py): Ed25519 over the zip's sha256, lower-case hex as ASCII.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from chalicelib.domain.publisher_signing import sign_digest
from chalicelib.publisher_cli.client import ApiClient
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.profiles import write_private

__all__ = ["LocalKey", "create_key", "local_keys", "public_key_b64", "publisher_of", "sign_digest", "usable_key"]


@dataclass(frozen=True)
class LocalKey:
    """A private key on this machine and the id the API gave its public half."""

    key_id: str
    path: Path
    private_key: Ed25519PrivateKey


def public_key_b64(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte public key, base64: what the API registers."""
    return base64.b64encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def _folder(home: Path, publisher: str) -> Path:
    return home / "keys" / publisher


def local_keys(home: Path, publisher: str) -> dict[str, LocalKey]:
    """The private keys kept for a publisher, by key id."""
    found: dict[str, LocalKey] = {}
    folder = _folder(home, publisher)
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.pem")):
        key = load_pem_private_key(path.read_bytes(), password=None)
        if isinstance(key, Ed25519PrivateKey):
            found[path.stem] = LocalKey(path.stem, path, key)
    return found


def publisher_of(client: ApiClient) -> str:
    """The caller's publisher id; a clear refusal when the workspace is not a publisher."""
    me: dict[str, Any] = client.get("/api/me")
    publisher = me.get("publisher_id")
    if not publisher:
        raise CliError(
            f"workspace '{me.get('workspace_id')}' is not a publisher: only a publisher's workspace has signing keys",
            ExitCode.API_REFUSED,
        )
    return str(publisher)


def create_key(client: ApiClient, home: Path, publisher: str) -> LocalKey:
    """Make a key pair, register its public half, and keep the private half (0600)."""
    key = Ed25519PrivateKey.generate()
    registered: dict[str, Any] = client.post("/api/publisher/keys", {"public_key": public_key_b64(key)})
    (home / "keys").mkdir(parents=True, exist_ok=True, mode=0o700)
    path = _folder(home, publisher) / f"{registered['key_id']}.pem"
    write_private(path, key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    return LocalKey(str(registered["key_id"]), path, key)


def usable_key(client: ApiClient, home: Path, publisher: str) -> LocalKey | None:
    """A local key whose public half the API holds and has not revoked (the newest), or None."""
    view: dict[str, Any] = client.get(f"/api/publishers/{publisher}")
    active = {k["key_id"]: k for k in view.get("keys", []) if not k.get("revoked")}
    mine = local_keys(home, publisher)
    usable = [
        key
        for key_id, key in mine.items()
        if key_id in active and active[key_id]["public_key"] == public_key_b64(key.private_key)
    ]
    return max(usable, key=lambda k: active[k.key_id]["created_at"]) if usable else None
