"""Audit list filters a big table can afford: fixed choices, exact boxes and a date range, each served
by an index. None of them runs a SELECT DISTINCT over the audit to build its choices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.dateparse import parse_date

from integrations.errors import FailureClass
from media_sync.admin.display import operation_words
from media_sync.models import JOB_TITLES, Operation
from media_sync.selectors import EXCHANGE_VIEWS, audit_exchanges, audit_filter


def parse_day(text: str) -> date | None:
    try:
        return parse_date(text.strip())
    except ValueError:  # well-formed but impossible, like 2026-02-30
        return None


def _hidden(changelist: ChangeList, *, without: tuple[str, ...]) -> list[tuple[str, str]]:
    """The list's other query parameters, so submitting one box keeps every other filter."""
    return [
        (name, value)
        for name, values in changelist.params.items()
        if name not in without and name != "p"
        for value in (values if isinstance(values, list) else [values])
    ]


class ChoicesFilter(admin.SimpleListFilter):
    """Fixed choices, so building the filter costs no query."""

    choices_source: tuple[str, ...] = ()

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, value.replace("_", " ")) for value in self.choices_source]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**{str(self.parameter_name): self.value()}) if self.value() else queryset


class FailureClassFilter(ChoicesFilter):
    title = "failure class"
    parameter_name = "failure_class__exact"
    choices_source = tuple(FailureClass)


class OperationFilter(ChoicesFilter):
    title = "operation"
    parameter_name = "operation__exact"
    choices_source = tuple(Operation.values)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        """In words, as the list says them; a job and the provider call of the same words told apart."""
        words = [operation_words(value) for value in self.choices_source]
        return [
            (
                value,
                f"{said} ({'job' if value in JOB_TITLES else 'call'})" if words.count(said) > 1 else said,
            )
            for value, said in zip(self.choices_source, words, strict=True)
        ]


class ExchangeFilter(ChoicesFilter):
    """A request with its answer as one line, or the requests that never got one."""

    title = "HTTP exchanges"
    parameter_name = "exchanges"
    choices_source = tuple(EXCHANGE_VIEWS)

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(EXCHANGE_VIEWS.items())

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        view = self.value()
        return audit_exchanges(queryset, view=view) if view else queryset


class ExactFilter(admin.ListFilter):
    """A box for one exact value, for fields with too many values to list (error codes, user names)."""

    template = "admin/media_sync/exact_filter.html"
    parameter_name = ""
    placeholder = ""

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: type[Model], model_admin: Any
    ) -> None:
        super().__init__(request, params, model, model_admin)
        values = params.pop(self.parameter_name, [""])
        self.value = (values[-1] if isinstance(values, list) else values).strip()

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [self.parameter_name]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(**{self.parameter_name: self.value}) if self.value else queryset

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        yield {
            "parameter": self.parameter_name,
            "value": self.value,
            "placeholder": self.placeholder,
            "hidden": _hidden(changelist, without=(self.parameter_name,)),
            "reset_url": changelist.get_query_string(remove=[self.parameter_name]),
        }


class ErrorCodeFilter(ExactFilter):
    title = "error code"
    parameter_name = "error_code"
    placeholder = "e.g. 3001 or 429"


class UserFilter(ExactFilter):
    title = "triggered by"
    parameter_name = "triggered_by"
    placeholder = "a user name"


class DateRangeFilter(admin.ListFilter):
    """From and to a day, both included, in the site's time zone; with the usual shortcuts."""

    title = "date"
    template = "admin/media_sync/date_range_filter.html"
    names = ("since", "until")

    def __init__(
        self, request: HttpRequest, params: dict[str, Any], model: type[Model], model_admin: Any
    ) -> None:
        super().__init__(request, params, model, model_admin)
        self.raw: dict[str, str] = {}
        for name in self.names:
            values = params.pop(name, [""])
            self.raw[name] = (values[-1] if isinstance(values, list) else values).strip()
        self.since, self.until = parse_day(self.raw["since"]), parse_day(self.raw["until"])

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str | None]:
        return [*self.names]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return audit_filter(since=self.since, until=self.until, queryset=queryset)

    def choices(self, changelist: ChangeList) -> Iterator[Any]:
        today = timezone.localdate()
        shortcuts = [("Today", today), ("Past 7 days", today - timedelta(days=6))]
        shortcuts.append(("Past 30 days", today - timedelta(days=29)))
        yield {
            "since": self.raw["since"],
            "until": self.raw["until"],
            "invalid": [name for name in self.names if self.raw[name] and not parse_day(self.raw[name])],
            "hidden": _hidden(changelist, without=self.names),
            "reset_url": changelist.get_query_string(remove=list(self.names)),
            "shortcuts": [
                (label, changelist.get_query_string({"since": since.isoformat()}, remove=["until"]))
                for label, since in shortcuts
            ],
        }
