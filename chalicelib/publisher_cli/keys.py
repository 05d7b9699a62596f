"""``plugyard keys create|list|revoke``: the publisher's Ed25519 signing keys."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.output import JsonOption, print_json, print_table, say
from chalicelib.publisher_cli.signing import create_key, local_keys, publisher_of

__all__ = ["register"]

keys = typer.Typer(help="Your publisher's Ed25519 signing keys.", no_args_is_help=True)


@keys.command("create")
def create(as_json: JsonOption = False) -> None:
    """Create a key pair: the API registers the public key; the private key stays here (0600)."""
    with session.api() as client:
        publisher = publisher_of(client)
        key = create_key(client, session.home(), publisher)
    if as_json:
        print_json({"key_id": key.key_id, "publisher_id": publisher, "private_key_file": str(key.path)})
        return
    say(f"key {key.key_id} registered for publisher {publisher}; private key in {key.path} (keep it secret)")


@keys.command("list")
def list_keys(as_json: JsonOption = False) -> None:
    """The publisher's registered keys, and which of them this machine can sign with."""
    with session.api() as client:
        publisher = publisher_of(client)
        view: dict[str, Any] = client.get(f"/api/publishers/{publisher}")
    mine = local_keys(session.home(), publisher)
    rows = [
        {
            "key_id": k["key_id"],
            "created_at": k["created_at"],
            "revoked": k["revoked"],
            "private_key_here": k["key_id"] in mine,
        }
        for k in view.get("keys", [])
    ]
    if as_json:
        print_json({"publisher_id": publisher, "keys": rows})
        return
    table = [
        (r["key_id"], r["created_at"], "revoked" if r["revoked"] else "active", "yes" if r["private_key_here"] else "")
        for r in rows
    ]
    print_table(f"signing keys of {publisher}", ("key id", "created", "state", "private key here"), table)


@keys.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key to revoke (see `plugyard keys list`).")]) -> None:
    """Revoke a key: the API refuses signatures by it from now on; its private key here is deleted."""
    with session.api() as client:
        publisher = publisher_of(client)
        client.delete(f"/api/publisher/keys/{key_id}")
    local = local_keys(session.home(), publisher).get(key_id)
    if local is not None:
        local.path.unlink()
    say(f"key {key_id} revoked" + (f"; deleted {local.path}" if local else ""))


def register(app: typer.Typer) -> None:
    app.add_typer(keys, name="keys")
