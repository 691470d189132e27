"""Leave room on each leads page for an updated row (PostgreSQL only).

A lead row is rewritten often after it is imported: last_delivered_at at every send and ESP
delivery event, status, the engagement score. With full pages every such update moves the row to
another page and adds an entry to each of the table's indexes; with free space on the page, an
update that changes no indexed column (last_delivered_at, updated_at, the score) stays on the page
and touches no index (a HOT update). Applies to pages written from now on; existing pages gain
the room as they are vacuumed.
"""
from django.db import migrations

FILLFACTOR = 85


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE leads_lead SET (fillfactor = {FILLFACTOR})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE leads_lead RESET (fillfactor)")


class Migration(migrations.Migration):

    dependencies = [
        ("leads", "0002_lead_engagement_score_featured_at"),
    ]

    operations = [
        migrations.RunPython(set_fillfactor, reset_fillfactor, elidable=False),
    ]
