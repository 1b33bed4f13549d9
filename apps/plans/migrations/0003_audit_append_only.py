"""The database itself refuses UPDATE and DELETE on the audit trail (PostgreSQL and SQLite)."""

from django.db import migrations

POSTGRES = [
    """
    CREATE OR REPLACE FUNCTION plans_auditevent_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION USING MESSAGE = 'plans_auditevent is append-only: ' || TG_OP || ' refused';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER plans_auditevent_append_only
    BEFORE UPDATE OR DELETE ON plans_auditevent
    FOR EACH ROW EXECUTE FUNCTION plans_auditevent_append_only()
    """,
]
SQLITE = [
    f"""
    CREATE TRIGGER plans_auditevent_no_{op.lower()}
    BEFORE {op} ON plans_auditevent
    BEGIN SELECT RAISE(ABORT, 'plans_auditevent is append-only: {op} refused'); END
    """
    for op in ("UPDATE", "DELETE")
]
REVERSE = {
    "postgresql": [
        "DROP TRIGGER IF EXISTS plans_auditevent_append_only ON plans_auditevent",
        "DROP FUNCTION IF EXISTS plans_auditevent_append_only()",
    ],
    "sqlite": [
        "DROP TRIGGER IF EXISTS plans_auditevent_no_update",
        "DROP TRIGGER IF EXISTS plans_auditevent_no_delete",
    ],
}


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for sql in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("plans", "0002_auditevent_planschedule_guardrail_scalingplan")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES, "sqlite": SQLITE}), _run(REVERSE), elidable=False
        )
    ]
