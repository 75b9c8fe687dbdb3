"""Failure groups and their triage events; the events are append-only like the audit (same triggers)."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import media_sync.models.vocabulary
from media_sync.db import append_only_sql, run_sql

FORWARD, BACKWARD = append_only_sql("media_sync_triageevent")


class Migration(migrations.Migration):
    dependencies = [
        ("media_sync", "0029_operation_choices_callable"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="FailureGroup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("signature", models.CharField(max_length=64, unique=True)),
                (
                    "provider",
                    models.CharField(
                        choices=[
                            ("recoveryconnect", "RecoveryConnect"),
                            ("corrigopro", "CorrigoPro"),
                            ("suapi", "SU API"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "operation",
                    models.CharField(
                        choices=media_sync.models.vocabulary.job_operation_choices, max_length=40
                    ),
                ),
                ("failure_class", models.CharField(blank=True, max_length=30)),
                ("pattern", models.TextField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("acknowledged", "Acknowledged"),
                            ("resolved", "Resolved"),
                            ("ignored", "Ignored"),
                        ],
                        default="open",
                        max_length=20,
                    ),
                ),
                (
                    "resolution",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("retried", "Retried and succeeded"),
                            ("fixed_at_provider", "Fixed at the provider"),
                            ("not_needed", "Not needed"),
                        ],
                        max_length=20,
                    ),
                ),
                ("first_seen", models.DateTimeField(default=django.utils.timezone.now)),
                ("last_seen", models.DateTimeField(default=django.utils.timezone.now)),
                ("opened_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "failure group",
                "verbose_name_plural": "open failures",
                "ordering": ["opened_at", "id"],
                "permissions": [
                    ("triage_note", "Can acknowledge failures and add notes"),
                    ("triage_decide", "Can assign, resolve and ignore failures"),
                ],
            },
        ),
        migrations.AddField(
            model_name="transferitem",
            name="failure_group",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="items",
                to="media_sync.failuregroup",
            ),
        ),
        migrations.CreateModel(
            name="TriageEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("timestamp", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("acknowledge", "Acknowledged"),
                            ("assign", "Assigned"),
                            ("note", "Note"),
                            ("resolve", "Resolved"),
                            ("ignore", "Ignored"),
                            ("retry", "Retried"),
                            ("reopen", "Reopened by a new failure"),
                        ],
                        max_length=20,
                    ),
                ),
                ("actor", models.CharField(blank=True, max_length=150)),
                ("owner", models.CharField(blank=True, max_length=150)),
                (
                    "reason",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("retried", "Retried and succeeded"),
                            ("fixed_at_provider", "Fixed at the provider"),
                            ("not_needed", "Not needed"),
                        ],
                        max_length=20,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("open", "Open"),
                            ("acknowledged", "Acknowledged"),
                            ("resolved", "Resolved"),
                            ("ignored", "Ignored"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "group",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="events",
                        to="media_sync.failuregroup",
                    ),
                ),
                (
                    "item",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="media_sync.transferitem",
                    ),
                ),
            ],
            options={
                "verbose_name": "triage event",
                "ordering": ["-timestamp", "-id"],
            },
        ),
        migrations.AddIndex(
            model_name="failuregroup",
            index=models.Index(fields=["status", "opened_at"], name="failuregroup_open_oldest"),
        ),
        migrations.AddIndex(
            model_name="triageevent",
            index=models.Index(fields=["group", "-timestamp"], name="triage_group_recent"),
        ),
        migrations.AddIndex(
            model_name="triageevent",
            index=models.Index(fields=["item", "-timestamp"], name="triage_item_recent"),
        ),
        migrations.RunPython(run_sql(FORWARD), run_sql(BACKWARD)),
    ]
