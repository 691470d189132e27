"""Find likely secrets in the files git tracks. ``python -m ops.secretscan`` exits 1 on a find.

Two kinds of rule:

- signatures that are secrets wherever they appear (private key blocks, cloud and ESP key
  formats), checked in every tracked file;
- ``NAME = value`` assignments of secret-sounding names to a long literal, checked outside
  tests (whose fixtures are fake by design) and with placeholders allowed
  (``.env.example``'s ``change-me...``).
"""
from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

# Each pattern is written so that its own source text does not match it.
SIGNATURES = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY( BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "SendGrid API key": re.compile(r"\bSG\.[\w-]{22}\.[\w-]{43}\b"),
    "Stripe live key": re.compile(r"\b[sr]k_live_[A-Za-z0-9]{20,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"),
    "Mailgun API key": re.compile(r"\bkey-[0-9a-f]{32}\b"),
    "Postmark server token": re.compile(r"(?i)postmark\w*\W{1,4}[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
}
ASSIGNMENT = re.compile(
    r"""(?ix)\b(?P<name>[A-Z0-9_]*(?:SECRET|PASSWORD|PASSWD|API_KEY|TOKEN|SIGNING_KEY|PRIVATE_KEY)[A-Z0-9_]*)\b
        \s*(?:=|:)\s*(?P<quote>["']?)(?P<value>[^\s"'#,;)]{16,})"""
)
# An unquoted dotted name (an attribute read such as report.correlation) is code, not a value.
ATTRIBUTE_REFERENCE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
# Values that are obviously not secrets: placeholders, references, code.
PLACEHOLDER = re.compile(
    r"(?i)change-?me|do-not-use|example|placeholder|your[-_]|dummy|fake|xxxx|<|\$\{|\{\{|env\.|settings\.|os\.|getenv|\(|\[|\.get\b"
)
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".gz", ".zip", ".sqlite3", ".pyc"}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str

    def __str__(self) -> str:
        # Never print the value itself: the report must not become the leak.
        return f"{self.path}:{self.line}: {self.rule}"


def tracked_files(root: Path) -> list[str]:
    """Paths git tracks under ``root``. Raises CalledProcessError outside a git work tree."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=root, check=True, capture_output=True).stdout
    return [name for name in out.decode().split("\0") if name]


def scan_text(path: str, text: str) -> list[Finding]:
    findings = []
    in_tests = path.startswith("tests/") or "/tests/" in path
    for number, line in enumerate(text.splitlines(), 1):
        for rule, pattern in SIGNATURES.items():
            if pattern.search(line):
                findings.append(Finding(path, number, rule))
        if not in_tests:
            for match in ASSIGNMENT.finditer(line):
                value = match.group("value")
                if not match.group("quote") and ATTRIBUTE_REFERENCE.fullmatch(value):
                    continue
                if not PLACEHOLDER.search(value):
                    findings.append(Finding(path, number, f"{match.group('name')} assigned a literal"))
    return findings


def scan(root: Path, paths: list[str]) -> list[Finding]:
    findings = []
    for name in paths:
        path = root / name
        if path.suffix in BINARY_SUFFIXES or not path.is_file():
            continue
        if path.name == ".env" or path.suffix in {".pem", ".key", ".p12", ".pfx"}:
            findings.append(Finding(name, 0, "secret-bearing file tracked"))
            continue
        findings.extend(scan_text(name, path.read_text(errors="replace")))
    return findings


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    findings = scan(root, tracked_files(root))
    for finding in findings:
        print(finding)
    print(f"secretscan: {len(findings)} likely secret(s) in tracked files")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
