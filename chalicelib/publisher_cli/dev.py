"""``plugyard dev DIR``: run a plugin folder as a development installation and re-run it on every change.

The loop: package the folder (the same reproducible zip as ``plugyard package``), check it offline with the
server's own checks, upload it (``PUT /api/dev/installations/{id}``), and watch the folder; every change that
alters the zip (code or manifest) is uploaded again, and the very next invocation runs it. Meanwhile the
installation's invocations (by the API, by events, by ``--invoke``) are printed as they are recorded, with
their log excerpts. An invalid folder is reported and the loop keeps watching; Ctrl-C ends it and leaves the
development installation in place (``--uninstall-on-exit`` removes it).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.markup import escape

from chalicelib.publisher_cli import session
from chalicelib.publisher_cli.build import package_folder
from chalicelib.publisher_cli.client import ApiError, problem_error, unreachable
from chalicelib.publisher_cli.exits import CliError, ExitCode
from chalicelib.publisher_cli.output import JsonOption, say
from chalicelib.publisher_cli.profiles import Connection

__all__ = ["DevLoop", "register", "watch_changes"]

POLL_S = 0.1  # the polling watcher's granularity (when watchfiles is not installed, or --poll)
LOGS_EVERY_S = 0.5  # how often the installation's new invocations are fetched


class DevLoop:
    """One folder, one development installation, one API connection."""

    def __init__(
        self,
        folder: Path,
        conn: Connection,
        *,
        payload: dict[str, Any] | None,
        entrypoint: str | None,
        as_json: bool,
    ) -> None:
        self.folder = folder
        self.payload = payload
        self.entrypoint = entrypoint
        self.as_json = as_json
        self.installation_id: str | None = None
        self._plugin_id: str | None = None
        self._last_sha: str | None = None
        self._last_failure: tuple[str, list[str]] | None = None
        self._seen: set[str] = set()
        self._printing = threading.Lock()  # both print new invocations: each once
        self._http = httpx.Client(
            base_url=conn.api_url,
            headers={"Authorization": f"Bearer {conn.api_key}", "User-Agent": "plugyard-cli dev"},
            timeout=30,
        )
        self._url = conn.api_url

    def close(self) -> None:
        self._http.close()

    # -- API --------------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        # httpx.Client is thread-safe: an upload never waits behind the log poller's request.
        try:
            resp = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise unreachable(self._url, exc) from exc
        body: Any = None
        if resp.content:
            try:
                body = resp.json()
            except ValueError:
                body = resp.text
        if resp.status_code >= 400:
            raise problem_error(resp.status_code, body)
        return body

    # -- one round ----------------------------------------------------------------------------------

    def sync(self) -> str:
        """Package, check and upload the folder if its zip changed: ``uploaded``, ``unchanged`` or ``failed``."""
        started = time.perf_counter()
        try:
            bundle, data, verdict = package_folder(self.folder)
        except CliError as exc:
            return self._failed("invalid", [exc.message])
        if not verdict.ok or verdict.manifest is None:
            errors = [f"{i.pointer}: {i.message} (hint: {i.hint})" for i in verdict.issues if i.severity == "error"]
            return self._failed("invalid", errors)
        if verdict.sha256 == self._last_sha:
            return "unchanged"  # a change the zip does not see (an ignored file, a save without edits)
        plugin_id = verdict.manifest.id
        if self._plugin_id is not None and plugin_id != self._plugin_id:
            self._event("notice", message=f"the manifest's id changed from {self._plugin_id} to {plugin_id}")
        try:
            answer = self._call(
                "PUT",
                f"/api/dev/installations/{plugin_id}",
                content=data,
                headers={"Content-Type": "application/zip"},
            )
        except ApiError as exc:
            if exc.status == 401 or exc.type.endswith("/dev-installations-disabled"):
                raise  # no save can fix the key or the stage: stop with the API's answer
            return self._failed("refused", [exc.message, *exc.details])
        self._last_failure = None
        first = self.installation_id is None or self._plugin_id != plugin_id
        self._plugin_id = plugin_id
        self.installation_id = answer["installation"]["installation_id"]
        self._last_sha = verdict.sha256
        self._event(
            "uploaded",
            plugin_id=plugin_id,
            version=answer["manifest_version"],
            installation_id=self.installation_id,
            sha256=answer["artifact_sha256"],
            created=answer["created"],
            files=len(bundle.files),
            ms=round((time.perf_counter() - started) * 1000),
            notice=answer["notice"] if first else None,
        )
        if first:
            self._mark_seen()
        return "uploaded"

    def _failed(self, kind: str, errors: list[str]) -> str:
        # Said once: the watcher also wakes for changes that leave the folder as broken as it was.
        if (kind, errors) != self._last_failure:
            self._last_failure = (kind, errors)
            self._event(kind, errors=errors)
        return "failed"

    def invoke(self) -> None:
        """Run the installation once with ``--invoke``'s payload (its record is printed by the log stream)."""
        if self.payload is None or self.installation_id is None:
            return
        body: dict[str, Any] = {"payload": self.payload}
        if self.entrypoint:
            body["entrypoint"] = self.entrypoint
        try:
            out = self._call("POST", f"/api/installations/{self.installation_id}/invoke", json=body)
        except ApiError as exc:
            self._event("refused", errors=[exc.message, *exc.details])
            return
        self._event("result", status=out["status"], result=out.get("result"), error=out.get("error"))

    # -- the installation's invocations ----------------------------------------------------------

    def _mark_seen(self) -> None:
        for item in self._recent():
            self._seen.add(item["invocation_id"])

    def _recent(self) -> list[dict[str, Any]]:
        if self.installation_id is None:
            return []
        page = self._call("GET", f"/api/installations/{self.installation_id}/invocations", params={"limit": 20})
        return list(page.get("items") or [])

    def print_new_invocations(self) -> None:
        """Print the invocations recorded since the last look, oldest first."""
        with self._printing:
            try:
                items = self._recent()
            except CliError as exc:
                self._event("notice", message=f"could not read the invocations: {exc.message}")
                return
            for item in reversed(items):
                if item["invocation_id"] in self._seen:
                    continue
                self._seen.add(item["invocation_id"])
                self._event("invocation", record=item)

    def stream_logs(self, stop: threading.Event) -> None:
        """Until ``stop``: print new invocations every LOGS_EVERY_S."""
        while not stop.wait(LOGS_EVERY_S):
            self.print_new_invocations()

    # -- output ----------------------------------------------------------------------------------

    def _event(self, kind: str, **data: Any) -> None:
        if self.as_json:
            typer.echo(json.dumps({"event": kind, **{k: v for k, v in data.items() if v is not None}}, default=str))
            return
        _print_human(kind, data)


def _print_human(kind: str, data: dict[str, Any]) -> None:
    if kind == "uploaded":
        verb = "installed" if data["created"] else "updated"
        say(
            f"[green]↻ {verb}[/green] {escape(data['plugin_id'])} {escape(data['version'])} "
            f"({data['sha256'][:12]}, {data['files']} files) in {data['ms']} ms — installation "
            f"{escape(data['installation_id'])}"
        )
        if data.get("notice"):
            say(f"  {escape(data['notice'])}")
    elif kind in ("invalid", "refused"):
        label = "not uploaded: the folder is invalid" if kind == "invalid" else "the API refused the upload"
        say(f"[red]✗ {label}[/red] (still watching; the last good upload keeps running)")
        for line in data["errors"]:
            say(f"  {escape(str(line))}")
    elif kind == "result":
        shown = data["result"] if data["status"] == "succeeded" else data["error"]
        say(f"  → {data['status']}: {escape(json.dumps(shown, default=str))}")
    elif kind == "invocation":
        rec = data["record"]
        colour = "green" if rec["status"] == "succeeded" else "red"
        say(
            f"[{colour}]● {escape(rec['status'])}[/{colour}] {escape(rec.get('entrypoint') or '')} "
            f"({escape(rec.get('trigger') or '')}) {rec.get('duration_ms') or 0:.0f} ms, "
            f"{rec.get('peak_memory_mb') or 0:.1f} MB{' cold' if rec.get('cold_start') else ''}"
        )
        if rec.get("error"):
            say(f"  [red]{escape(json.dumps(rec['error'], default=str))}[/red]")
        for line in (rec.get("log_excerpt") or "").splitlines():
            say(f"  │ {escape(line)}")
    else:
        say(f"[yellow]{escape(str(data.get('message', '')))}[/yellow]")


def watch_changes(folder: Path, stop: threading.Event, *, poll: bool = False) -> Iterator[None]:
    """Yield once as soon as the watcher is live, then once per batch of changes under ``folder``, until ``stop``.

    The first yield lets the caller look again at a folder that may have changed before the watcher was
    running (its first upload took a while): nothing saved meanwhile is missed. watchfiles when installed,
    else polling every ~100 ms.
    """
    if not poll:
        try:
            import watchfiles
        except ImportError:
            poll = True
        else:
            # step: how long the watcher waits for more events before yielding a batch (an editor's save is
            # several events); it bounds a change's latency. An idle second yields an empty batch, the first
            # of which says the watcher is live.
            live = False
            for changes in watchfiles.watch(
                folder, stop_event=stop, step=30, debounce=500, rust_timeout=1000, yield_on_timeout=True
            ):
                if changes or not live:
                    live = True
                    yield None
            return
    before = _snapshot(folder)
    yield None
    while not stop.wait(POLL_S):
        now = _snapshot(folder)
        if now != before:
            before = now
            yield None


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for path in folder.rglob("*"):
        try:
            st = path.stat()
        except OSError:
            continue  # removed while walking
        found[str(path)] = (st.st_mtime_ns, st.st_size)
    return found


def _payload(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise CliError(f"--invoke takes a JSON object: {exc}", ExitCode.USAGE) from exc
    if not isinstance(value, dict):
        raise CliError('--invoke takes a JSON object, e.g. \'{"name": "Ada"}\'', ExitCode.USAGE)
    return value


def dev(
    folder: Annotated[Path, typer.Argument(help="The plugin folder (with plugyard.json at its root).")],
    invoke: Annotated[
        str | None, typer.Option("--invoke", help="After each upload, invoke the plugin with this JSON payload.")
    ] = None,
    entrypoint: Annotated[
        str | None, typer.Option("--entrypoint", "-e", help="The entry point --invoke runs (default: main).")
    ] = None,
    poll: Annotated[bool, typer.Option("--poll", help="Watch by polling every 100 ms instead of OS events.")] = False,
    uninstall_on_exit: Annotated[
        bool, typer.Option("--uninstall-on-exit", help="Remove the development installation when you stop.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run FOLDER unpublished as a development installation; re-upload on every change; stream its runs.

    Needs a stack that allows development installations (`make run` does). Every scope the manifest asks for
    is granted, in your workspace only. Ctrl-C stops; the installation stays unless --uninstall-on-exit.
    """
    if not folder.is_dir():
        raise CliError(f"{folder} is not a folder", ExitCode.USAGE)
    payload = _payload(invoke)
    loop = DevLoop(folder, session.connection(), payload=payload, entrypoint=entrypoint, as_json=as_json)
    stop = threading.Event()
    logs = threading.Thread(target=loop.stream_logs, args=(stop,), name="plugyard-dev-logs", daemon=True)
    try:
        first = loop.sync()
        if first == "failed":
            say("fix the folder and save: the loop keeps watching")
        _then(loop, first)
        logs.start()
        say(f"watching {escape(str(folder))} — Ctrl-C to stop")
        for _ in watch_changes(folder, stop, poll=poll):
            _then(loop, loop.sync())
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        if logs.is_alive():
            logs.join(timeout=5)
    _finish(loop, uninstall_on_exit)


def _then(loop: DevLoop, outcome: str) -> None:
    if outcome == "uploaded":
        loop.invoke()
        loop.print_new_invocations()


def _finish(loop: DevLoop, uninstall: bool) -> None:
    try:
        if loop.installation_id is None:
            say("stopped; nothing was installed")
        elif uninstall:
            loop._call("DELETE", f"/api/installations/{loop.installation_id}")
            say(f"stopped; development installation {loop.installation_id} uninstalled")
        else:
            say(
                f"stopped; development installation {loop.installation_id} stays (it still runs on its events; "
                f"remove it with --uninstall-on-exit next time, or DELETE /api/installations/{loop.installation_id})"
            )
    finally:
        loop.close()


def register(app: typer.Typer) -> None:
    app.command("dev")(dev)
