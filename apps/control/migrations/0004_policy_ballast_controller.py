"""The per-step policy is `ballast_controller`; `ballast` names it with its plans (simulator)."""

from django.db import migrations, models


def rename(apps, schema_editor):
    Controller = apps.get_model("control", "Controller")
    Controller.objects.filter(policy="ballast").update(policy="ballast_controller")


def unrename(apps, schema_editor):
    Controller = apps.get_model("control", "Controller")
    Controller.objects.filter(policy="ballast_controller").update(policy="ballast")


class Migration(migrations.Migration):
    dependencies = [("control", "0003_serverless_share")]

    operations = [
        migrations.AlterField(
            model_name="controller",
            name="policy",
            field=models.CharField(default="ballast_controller", max_length=32),
        ),
        migrations.RunPython(rename, unrename),
    ]
