"""Dependency audit for CI: ``python -m ops.audit [pip-audit options]``.

Runs ``pip-audit -r requirements.txt`` and decides:

- exit 1 when any dependency has a known vulnerability (listed with its fix versions);
- exit 0 with a loud ``NOT AUDITED`` line when the vulnerability database cannot be reached
  (pip-audit then skips every package, or fails with a connection error): a machine without
  the internet must not fail the build for it, and must not pretend it audited either;
- exit 2 when pip-audit fails for any other reason.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a failed lookup looks like in pip-audit's traceback.
_NETWORK_ERROR = re.compile(
    r"ConnectionError|NameResolutionError|Max retries exceeded|Temporary failure in name resolution|"
    r"timed out|ConnectTimeout|ReadTimeout|Network is unreachable|ProxyError|SSLError"
)


def verdict(report: dict) -> tuple[int, list[str]]:
    """Exit code and report lines for pip-audit's JSON report (``-f json``)."""
    dependencies = report.get("dependencies", [])
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if vulnerable:
        lines = [f"pip-audit: {len(vulnerable)} vulnerable dependenc{'y' if len(vulnerable) == 1 else 'ies'}:"]
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
                lines.append(f"  {dep['name']} {dep.get('version', '?')}: {vuln.get('id')} (fixed in: {fixes})")
        return 1, lines
    if dependencies and not audited:
        return 0, [
            f"pip-audit: NOT AUDITED: the vulnerability database could not be reached "
            f"({len(skipped)} dependencies skipped, e.g. {skipped[0]['skip_reason']!r}). "
            "Run `make audit` where PyPI's JSON API or OSV is reachable."
        ]
    lines = [f"pip-audit: no known vulnerabilities in {len(audited)} dependencies"]
    if skipped:
        lines.append(f"pip-audit: {len(skipped)} not audited: " + ", ".join(d["name"] for d in skipped))
    return 0, lines


def main(argv: list[str]) -> int:
    command = [sys.executable, "-m", "pip_audit", "-r", str(ROOT / "requirements.txt"),
               "-f", "json", "--progress-spinner", "off", *argv]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        print("pip-audit: NOT AUDITED: timed out after 900 s (network unreachable?)")
        return 0
    try:
        report = json.loads(result.stdout)
    except ValueError:
        if _NETWORK_ERROR.search(result.stderr):
            print("pip-audit: NOT AUDITED: the vulnerability database could not be reached:")
            print("  " + (result.stderr.strip().splitlines() or [""])[-1])
            return 0
        print(result.stderr, file=sys.stderr)
        print(f"pip-audit: failed (exit {result.returncode}) without a report")
        return 2
    code, lines = verdict(report)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
