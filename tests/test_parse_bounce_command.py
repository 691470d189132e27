"""`manage.py parse_bounce`: for people and scripts, with no database."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "sisimai" / "emails"
SAMPLES = Path(__file__).parent / "samples"


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    # No database at all: a DATABASE_URL pointing nowhere must not matter.
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "LOCKLINE_VAR_DIR": str(tmp_path)}
    return subprocess.run([sys.executable, "manage.py", "parse_bounce", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_json_output_is_one_object_per_file_with_the_documented_fields(tmp_path):
    bounce = tmp_path / "bounce.eml"
    bounce.write_text((SAMPLES / "postfix-5.1.1.eml.tmpl").read_text().format(
        recipient="gone@example.org", token="abc-0123456789ab", message_id="orig-1@lockline.test"))
    result = run("--json", str(bounce), str(SAMPLES / "vacation.eml.tmpl"), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["file"] == str(bounce) and first["kind"] == "bounce"
    assert first["message_id"] == "orig-1@lockline.test"
    assert first["recipients"] == [{
        "address": "gone@example.org", "category": "hard", "reason": "userunknown", "status": "5.1.1",
        "smtp_code": "550", "diagnostic": first["recipients"][0]["diagnostic"], "action": "failed",
    }]
    assert "User unknown" in first["recipients"][0]["diagnostic"]
    assert second["kind"] == "auto_reply"


def test_the_readable_table_names_recipient_reason_and_status(tmp_path):
    result = run(str(CORPUS / "lhost-qmail-01.eml"), tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "bounce" in result.stdout and "@" in result.stdout


def test_an_unreadable_file_is_reported_and_fails_the_command(tmp_path):
    result = run(str(tmp_path / "missing.eml"), tmp_path=tmp_path)
    assert result.returncode != 0
    assert "missing.eml" in result.stderr
