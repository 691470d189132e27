"""The event tables' ``lead`` without a database foreign key; a trigger clears it instead.

Why: see the note above BounceEvent in bounces/models.py. What the key did on the leads side
stays: deleting leads (through Django or not) clears ``lead`` on their events, in the deleting
statement, as ON DELETE SET NULL would. The rows are read with a snapshot taken after the
delete has waited out every writer holding one of those leads (``lead_ids_for_link``), so
rows those writers committed are cleared too. PostgreSQL only; on SQLite (``make run``)
Django's ``on_delete=SET_NULL`` does it.
"""
import django.db.models.deletion
from django.db import migrations, models

EVENT_TABLES = ("bounces_bounceevent", "bounces_engagementevent")

CREATE = f"""
CREATE FUNCTION lockline_events_forget_deleted_leads() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {" ".join(f"UPDATE {t} SET lead_id = NULL WHERE lead_id IN (SELECT id FROM deleted_leads);" for t in EVENT_TABLES)}
    RETURN NULL;
END $$;
CREATE TRIGGER lockline_events_forget_deleted_leads AFTER DELETE ON leads_lead
    REFERENCING OLD TABLE AS deleted_leads FOR EACH STATEMENT
    EXECUTE FUNCTION lockline_events_forget_deleted_leads();
"""

DROP = """
DROP TRIGGER IF EXISTS lockline_events_forget_deleted_leads ON leads_lead;
DROP FUNCTION IF EXISTS lockline_events_forget_deleted_leads();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('bounces', '0005_copied_keys_without_database_constraints'),
        ('leads', '0003_lead_fillfactor'),
    ]

    operations = [
        migrations.AlterField(
            model_name='bounceevent',
            name='lead',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='bounce_events', to='leads.lead'),
        ),
        migrations.AlterField(
            model_name='engagementevent',
            name='lead',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='engagement_events', to='leads.lead'),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
