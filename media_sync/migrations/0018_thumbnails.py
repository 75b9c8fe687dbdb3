"""Thumbnails and previews for RecoveryConnect photos and CorrigoPro attachments (made by a worker)."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models

STATUS = models.CharField(
    choices=[
        ("pending", "Pending"),
        ("ready", "Ready"),
        ("failed", "Failed"),
        ("not_a_picture", "Not a picture"),
    ],
    default="pending",
    max_length=20,
)


def mark_documents(apps: Any, schema_editor: Any) -> None:
    # Attachments already mirrored whose type says they are no picture need no fetch.
    attachments = apps.get_model("media_sync", "CorrigoAttachment").objects
    attachments.exclude(mime_type="").exclude(mime_type__startswith="image/").update(
        thumbnail_status="not_a_picture"
    )


def fields(model_name: str) -> list[migrations.AddField]:
    return [
        migrations.AddField(
            model_name=model_name,
            name="thumbnail",
            field=models.FileField(blank=True, max_length=300, upload_to="thumbnails/%Y/%m/"),
        ),
        migrations.AddField(
            model_name=model_name,
            name="preview",
            field=models.FileField(blank=True, max_length=300, upload_to="previews/%Y/%m/"),
        ),
        migrations.AddField(model_name=model_name, name="thumbnail_status", field=STATUS.clone()),
        migrations.AddField(
            model_name=model_name, name="thumbnail_error", field=models.TextField(blank=True)
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [("media_sync", "0017_audit_timeline")]
    operations = [
        *fields("recoveryconnectphoto"),
        *fields("corrigoattachment"),
        migrations.RunPython(mark_documents, migrations.RunPython.noop),
    ]
