# SavingsReplay and WhatIfRun moved to the simulations app (its 0001 takes them over in the
# migration state); their tables stay as they are, so this removes them from the state only.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_whatif_policies_help_library"),
        ("simulations", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.DeleteModel(name="SavingsReplay"),
                migrations.DeleteModel(name="WhatIfRun"),
            ],
        ),
    ]
