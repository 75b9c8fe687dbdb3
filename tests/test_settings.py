"""Settings come from the environment only; `check --deploy` is clean under production-like values
and names each missing provider setting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from integrations.corrigopro.webhook_auth import generate_signing_identity

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "x7!k2p" * 10,
    "DJANGO_ALLOWED_HOSTS": "media-sync.example.com",
    "RECOVERYCONNECT_BASE_URL": "https://api.mbsisystems.com",
    "RECOVERYCONNECT_USERNAME": "ops",
    "RECOVERYCONNECT_PASSWORD": "s3cret",
    "CORRIGOPRO_BASE_URL": "https://api.corrigopro.example",
    "CORRIGOPRO_TOKEN_URL": "https://oauth.corrigopro.example/token",
    "CORRIGOPRO_CLIENT_ID": "ops",
    "CORRIGOPRO_CLIENT_SECRET": "s3cret",
    "CORRIGOPRO_WEBHOOK_CERTIFICATE": "/etc/media-sync/corrigopro.pem",
    "SUAPI_BASE_URL": "https://connect.su-api.example",
    "SUAPI_APP_ID": "ops",
    "SUAPI_API_KEY": "s3cret",
    "MEDIA_SYNC_PUBLIC_BASE_URL": "https://media-sync.example.com",
    "EMAIL_URL": "smtp+tls://alerts:p%40ss@mail.example.com:587",
}


def manage(*args: str, env: dict[str, str], drop: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Run manage.py in a fresh process whose environment holds only `env` of the app's own variables."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("DJANGO_", "RECOVERYCONNECT_", "CORRIGOPRO_", "SUAPI_", "MEDIA_SYNC_", "AWS_", "EMAIL_")
        )
    }
    clean.update({k: v for k, v in env.items() if k not in drop})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    certificate = tmp_path / "corrigopro.pem"
    certificate.write_bytes(generate_signing_identity()[1])
    return {**PRODUCTION, "CORRIGOPRO_WEBHOOK_CERTIFICATE": str(certificate)}


def test_check_deploy_is_clean_under_production_like_variables(production: dict[str, str]) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_refuses_an_unreadable_webhook_certificate() -> None:
    result = manage("check", "--deploy", env=PRODUCTION)  # its certificate path does not exist
    assert result.returncode == 1 and "is not a readable PEM certificate" in result.stderr


def test_check_deploy_names_each_missing_provider_setting(production: dict[str, str]) -> None:
    result = manage(
        "check",
        "--deploy",
        env=production,
        drop=("RECOVERYCONNECT_BASE_URL", "RECOVERYCONNECT_PASSWORD"),
    )
    assert result.returncode == 1
    assert "RECOVERYCONNECT_BASE_URL is not set" in result.stderr
    assert "RECOVERYCONNECT_PASSWORD is not set" in result.stderr
    assert "RECOVERYCONNECT_USERNAME" not in result.stderr


def test_debug_without_provider_urls_talks_to_the_simulators() -> None:
    code = "from django.conf import settings; print(settings.RECOVERYCONNECT['BASE_URL'])"
    result = manage("shell", "--no-imports", "-c", code, env={"DJANGO_DEBUG": "1"})
    assert result.stdout.strip() == "http://127.0.0.1:8001/recoveryconnect"


def test_simulators_refuse_to_run_without_debug(production: dict[str, str]) -> None:
    result = manage("run_simulators", env=production)
    assert result.returncode == 1
    assert "never part of production" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DJANGO_DEBUG", "ture", "DJANGO_DEBUG must be a boolean"),
        ("DJANGO_SECURE_SSL_REDIRECT", "maybe", "DJANGO_SECURE_SSL_REDIRECT must be a boolean"),
        ("Q_WORKERS", "four", "Q_WORKERS must be a whole number; got 'four'"),
        ("Q_WORKERS", "0", "Q_WORKERS must be a whole number of at least 1; got '0'"),
        ("MEDIA_SYNC_ALERT_THRESHOLD", "a fifth", "MEDIA_SYNC_ALERT_THRESHOLD must be a number"),
        ("MEDIA_SYNC_READ_TIMEOUT", "-3", "MEDIA_SYNC_READ_TIMEOUT must be a number of at least 0"),
        ("MEDIA_SYNC_READ_TIMEOUT", "inf", "MEDIA_SYNC_READ_TIMEOUT must be a number of at least 0"),
        ("Q_RETRY", "100", "Q_RETRY must be more than Q_TIMEOUT (600); got '100'"),
        ("DATABASE_URL", "localhost:5432", "DATABASE_URL must be a URL"),
        ("REDIS_URL", "http://127.0.0.1:6379", "REDIS_URL must be a URL (redis://"),
        ("SUAPI_BASE_URL", "connect.su-api.example", "SUAPI_BASE_URL must be a URL (http://"),
        ("DJANGO_LOG_LEVEL", "loud", "DJANGO_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL"),
        ("DJANGO_SECRET_KEY_FILE", "/nonexistent/key", "DJANGO_SECRET_KEY_FILE must be a readable file"),
        ("EMAIL_URL", "smpt://ops:hunter2@mail.example.com", "EMAIL_URL must be a URL (smtp://"),
        (
            "EMAIL_URL",
            "smtp://ops:hunter2@mail.example.com:25x",
            "EMAIL_URL must be a URL with a numeric port",
        ),
        ("EMAIL_URL", "smtp://ops:hunter2@:25", "EMAIL_URL must be a URL naming a host"),
        ("DATABASE_URL", "mysq://app:hunter2@db/media", "DATABASE_URL must be a URL"),
    ],
)
def test_a_bad_value_stops_start_up_with_one_line_naming_the_variable(
    production: dict[str, str], name: str, value: str, says: str
) -> None:
    result = manage("check", env={**production, name: value})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"media-sync: {says}"), result.stderr
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr  # a URL's password is never printed


def test_email_url_sets_the_smtp_server_and_its_credentials(production: dict[str, str]) -> None:
    shell = (
        "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT,"
        " s.EMAIL_HOST_USER, s.EMAIL_HOST_PASSWORD, s.EMAIL_USE_TLS, s.EMAIL_USE_SSL)"
    )
    result = manage("shell", "--no-imports", "-c", shell, env=production)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "587",
        "alerts",
        "p@ss",
        "True",
        "False",
    ]


def test_check_deploy_warns_when_no_mail_server_is_set(production: dict[str, str]) -> None:
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=production, drop=("EMAIL_URL",))
    assert result.returncode == 1
    assert "EMAIL_URL is not set" in result.stderr


def test_a_secret_is_read_from_the_file_its_name_file_variable_names(
    production: dict[str, str], tmp_path: Path
) -> None:
    secret = tmp_path / "suapi-key"
    secret.write_text("key-from-a-file\n", encoding="utf-8")
    env = {**production, "SUAPI_API_KEY_FILE": str(secret)}
    shell = "from django.conf import settings; print(settings.SUAPI['API_KEY'])"
    result = manage("shell", "-c", shell, env=env, drop=("SUAPI_API_KEY",))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "key-from-a-file"


def test_console_mail_is_the_scheme_alone(production: dict[str, str]) -> None:
    """`EMAIL_URL=console://`, as the README writes it, prints mail instead of sending it."""
    shell = "from django.conf import settings; print(settings.EMAIL_BACKEND)"
    result = manage("shell", "--no-imports", "-c", shell, env={**production, "EMAIL_URL": "console://"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.core.mail.backends.console.EmailBackend"]
