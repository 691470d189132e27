"""The event tables' ``message`` without a database foreign key; a trigger clears it instead.

Why: see the note above BounceEvent in bounces/models.py. The writers hold the messages their
rows name (``messages_hold_for_link``), so the key's check at commit, one per row, is gone; what
the key did on the messages side stays: deleting messages (through Django or not) clears
``message`` on their events, in the deleting statement, as ON DELETE SET NULL would. The rows
are read with a snapshot taken after the delete has waited out every writer holding one of
those messages, so rows those writers committed are cleared too. PostgreSQL only; on SQLite
(``make run``) Django's ``on_delete=SET_NULL`` does it.
"""
import django.db.models.deletion
from django.db import migrations, models

EVENT_TABLES = ("bounces_bounceevent", "bounces_engagementevent")

CREATE = f"""
CREATE FUNCTION lockline_events_forget_deleted_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {" ".join(f"UPDATE {t} SET message_id = NULL WHERE message_id IN (SELECT id FROM deleted_messages);" for t in EVENT_TABLES)}
    RETURN NULL;
END $$;
CREATE TRIGGER lockline_events_forget_deleted_messages AFTER DELETE ON campaigns_message
    REFERENCING OLD TABLE AS deleted_messages FOR EACH STATEMENT
    EXECUTE FUNCTION lockline_events_forget_deleted_messages();
"""

DROP = """
DROP TRIGGER IF EXISTS lockline_events_forget_deleted_messages ON campaigns_message;
DROP FUNCTION IF EXISTS lockline_events_forget_deleted_messages();
"""


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('bounces', '0006_event_lead_without_database_key'),
        ('campaigns', '0002_message_enqueued_at'),
    ]

    operations = [
        migrations.AlterField(
            model_name='bounceevent',
            name='message',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='bounce_events', to='campaigns.message'),
        ),
        migrations.AlterField(
            model_name='engagementevent',
            name='message',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='engagement_events', to='campaigns.message'),
        ),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
