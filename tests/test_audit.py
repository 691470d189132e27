"""The CI dependency audit fails on a vulnerability, never on an unreachable database."""
from ops.audit import verdict


def test_a_known_vulnerability_fails_the_build_and_names_the_fix():
    code, lines = verdict({"dependencies": [
        {"name": "django", "version": "5.2.0", "vulns": [
            {"id": "PYSEC-2026-1", "fix_versions": ["5.2.8"], "aliases": [], "description": "..."}]},
        {"name": "celery", "version": "5.7.0", "vulns": []},
    ]})
    assert code == 1
    assert "  django 5.2.0: PYSEC-2026-1 (fixed in: 5.2.8)" in lines


def test_an_unreachable_database_passes_but_says_nothing_was_audited():
    code, lines = verdict({"dependencies": [
        {"name": "django", "skip_reason": "Dependency not found on PyPI and could not be audited: django (5.2.19)"},
        {"name": "celery", "skip_reason": "Dependency not found on PyPI and could not be audited: celery (5.7.0)"},
    ]})
    assert code == 0
    assert lines[0].startswith("pip-audit: NOT AUDITED")


def test_a_clean_audit_passes_and_lists_what_it_could_not_check():
    code, lines = verdict({"dependencies": [
        {"name": "django", "version": "5.2.19", "vulns": []},
        {"name": "private-pkg", "skip_reason": "not on PyPI"},
    ]})
    assert code == 0
    assert lines == ["pip-audit: no known vulnerabilities in 1 dependencies", "pip-audit: 1 not audited: private-pkg"]
