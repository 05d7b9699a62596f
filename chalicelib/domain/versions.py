"""Version selection: exact versions, caret/tilde ranges and comparator lists, on semantic versions."""

from __future__ import annotations

import re

import semver

__all__ = ["is_range", "matches", "parse_range", "pick_latest"]

_COMPARATOR = re.compile(r"^(>=|<=|>|<|==|!=)\s*(.+)$")


def _parse(version: str) -> semver.Version:
    return semver.Version.parse(version, optional_minor_and_patch=True)


def parse_range(spec: str) -> list[str]:
    """The comparator clauses of ``spec``: '^1.2' → ['>=1.2.0', '<2.0.0']; '~1.2.3' → ['>=1.2.3', '<1.3.0'].

    Also accepts '1.x', '*', an exact version, and comma-separated comparators ('>=1.0.0,<2.0.0').
    ValueError for anything else.
    """
    spec = spec.strip()
    if spec in ("", "*", "x", "latest"):
        return []
    clauses: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if part.startswith("^"):
            low = _parse(part[1:])
            if low.major > 0:
                high = low.bump_major()
            elif low.minor > 0:
                high = low.bump_minor()
            else:
                high = low.bump_patch()
            clauses += [f">={low}", f"<{high}"]
        elif part.startswith("~"):
            low = _parse(part[1:])
            clauses += [f">={low}", f"<{low.bump_minor()}"]
        elif part.endswith((".x", ".*")):
            head = part[:-2]
            low = _parse(head)
            high = low.bump_major() if head.count(".") == 0 else low.bump_minor()
            clauses += [f">={low}", f"<{high}"]
        elif m := _COMPARATOR.match(part):
            clauses.append(f"{m.group(1)}{_parse(m.group(2))}")
        else:
            clauses.append(f"=={_parse(part)}")
    return clauses


def is_range(spec: str) -> bool:
    """True unless ``spec`` is one exact semantic version."""
    return not semver.Version.is_valid(spec.strip())


def matches(version: str, clauses: list[str]) -> bool:
    """True when ``version`` satisfies every clause; pre-releases only when a clause names one."""
    v = semver.Version.parse(version)
    if v.prerelease and not any("-" in c for c in clauses):
        return False
    return all(v.match(c) for c in clauses)


def pick_latest(versions: list[str], spec: str | None) -> str | None:
    """Highest version satisfying ``spec`` (any stable version when None)."""
    clauses = parse_range(spec) if spec else []
    ok = [v for v in versions if matches(v, clauses)]
    return max(ok, key=semver.Version.parse, default=None)
