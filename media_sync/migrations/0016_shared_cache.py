"""The database cache's table (settings.CACHES without Redis): `migrate` makes it, no extra step."""

from __future__ import annotations

from typing import Any

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps: Any, schema_editor: Any) -> None:
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("media_sync", "0015_item_unconfirmed")]
    operations = [migrations.RunPython(create_cache_table, migrations.RunPython.noop)]
