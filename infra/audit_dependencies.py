"""Vulnerability audit of the pinned dependencies with pip-audit (``make security``).

pip-audit asks a vulnerability service about each pinned version in ``requirements*.txt``. When the
service answers, any known vulnerability fails the run (fix it by upgrading the pin, or argue it in
``IGNORED`` below with the advisory id and why it does not apply).

When the service cannot be reached, nothing was audited. That happens on a machine whose only network
is a package mirror: the mirror serves packages but not the per-version vulnerability data (pip-audit
reports every package as "not found … could not be audited"), and no other host resolves. The run then
prints that it was SKIPPED and why, and exits 0 so an offline ``make test`` can pass. A partial audit
(some packages answered, others not) is not an offline machine and fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ["requirements.txt", "requirements-dev.txt"]
# Advisory ids accepted after review, each with the reason it does not apply to Plugyard.
IGNORED: dict[str, str] = {}
_OFFLINE_MARKERS = ("NameResolutionError", "Failed to resolve", "ConnectionError", "Max retries exceeded")


def main() -> int:
    """Run pip-audit and judge its report; the exit code is the verdict."""
    cmd = [sys.executable, "-m", "pip_audit", "--no-deps", "--disable-pip", "--progress-spinner", "off", "-f", "json"]
    for name in REQUIREMENTS:
        cmd += ["-r", str(ROOT / name)]
    for advisory in IGNORED:
        cmd += ["--ignore-vuln", advisory]
    # Our own interpreter running pip-audit over our own requirement files; no shell.
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603
    try:
        report = json.loads(done.stdout)
    except ValueError:
        if any(marker in done.stderr for marker in _OFFLINE_MARKERS):
            reason = done.stderr.strip().splitlines()[-1][:300]
            print(f"dependency audit SKIPPED: the vulnerability service is unreachable (no network): {reason}")
            return 0
        print(f"dependency audit FAILED to run:\n{done.stderr.strip()[-2000:]}")
        return 1
    deps = report.get("dependencies", [])
    skipped = [d for d in deps if d.get("skip_reason")]
    vulnerable = [d for d in deps if d.get("vulns")]
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
            print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    if vulnerable:
        return 1
    if deps and len(skipped) == len(deps):
        print(
            f"dependency audit SKIPPED: none of the {len(deps)} pinned packages could be audited, because the "
            "package index reachable from this machine serves packages but no vulnerability data and no other "
            f"host resolves (pip-audit: {skipped[0]['skip_reason']!r})."
        )
        return 0
    if skipped:
        for dep in skipped:
            print(f"NOT AUDITED {dep['name']}: {dep['skip_reason']}")
        return 1
    print(f"dependency audit: {len(deps)} pinned packages, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
