"""Saved views in the admin: the "Save this view" form on every list posts here; the list of saved views
renames, shares and deletes them (each person their own; team leads any shared one)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, reverse
from django.utils.html import format_html

from media_sync.admin.base import ForgivingListMixin, admin_route
from media_sync.models import SavedView
from media_sync.services.refusals import InputRefused
from media_sync.services.saved_views import saved_view_may_change, saved_view_save, saved_views_visible

SAVE_PERMISSION = "media_sync.add_savedview"


def viewable_lists(request: HttpRequest, site: admin.AdminSite = admin.site) -> list[str]:
    """The labels of the admin lists this person may open."""
    return [
        model._meta.label_lower
        for model, model_admin in site._registry.items()
        if model_admin.has_view_permission(request)
    ]


def signed_in(request: HttpRequest) -> User:
    """The person asking (every admin view is behind the login)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


class SaveViewForm(forms.Form):
    name = forms.CharField(max_length=100)
    shared = forms.BooleanField(required=False)
    changelist = forms.CharField(max_length=100)
    query = forms.CharField(required=False, strip=False)


@admin.register(SavedView)
class SavedViewAdmin(ForgivingListMixin, admin.ModelAdmin):
    list_display = [
        "open_link",
        "list_label",
        "query_shown",
        "shared",
        "owner_name",
        "created_at",
        "manage_link",
    ]
    list_display_links = None
    list_filter = ["shared"]
    search_fields = ["name"]
    fields = ["name", "shared", "list_label", "query_shown", "open_link", "owner_name", "created_at"]
    # The owner by name: a read-only user field would link to the user admin, which only superusers open.
    readonly_fields = ["list_label", "query_shown", "open_link", "owner_name", "created_at"]
    # Deleting from the list would skip the owner check each object's delete page makes.
    actions = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[SavedView]:
        if not self.has_view_permission(request):
            # Whoever may not see saved views at all is refused (403) by the page, as on every other
            # model, rather than told this one does not exist.
            return super().get_queryset(request)
        return saved_views_visible(user=signed_in(request), viewable=viewable_lists(request, self.admin_site))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # saved from the list it shows ("Save this view")

    def has_change_permission(self, request: HttpRequest, obj: SavedView | None = None) -> bool:
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or saved_view_may_change(user=signed_in(request), view=obj))

    def has_delete_permission(self, request: HttpRequest, obj: SavedView | None = None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or saved_view_may_change(user=signed_in(request), view=obj))

    @admin.display(description="saved view", ordering="name")
    def open_link(self, view: SavedView) -> str:
        return format_html('<a href="{}">{}</a>', view.url(), view.name)

    @admin.display(description="")
    def manage_link(self, view: SavedView) -> str:
        if not getattr(view, "may_change", False):
            return ""
        url = reverse("admin:media_sync_savedview_change", args=[view.pk])
        return format_html('<a href="{}">Rename or delete</a>', url)

    @admin.display(description="owner", ordering="owner__username")
    def owner_name(self, view: SavedView) -> str:
        return view.owner.get_username()

    @admin.display(description="list", ordering="changelist")
    def list_label(self, view: SavedView) -> str:
        app_label, _, model_name = view.changelist.partition(".")
        for model in self.admin_site._registry:
            if (model._meta.app_label, model._meta.model_name) == (app_label, model_name):
                return str(model._meta.verbose_name_plural).capitalize()
        return view.changelist

    @admin.display(description="filters")
    def query_shown(self, view: SavedView) -> str:
        return view.query.replace("&", " & ") or "—"

    def get_urls(self) -> list[URLPattern]:
        return [admin_route(self, "save/", self.save_view, post=True), *super().get_urls()]

    def save_view(self, request: HttpRequest) -> HttpResponse:
        """Keep the list's current filters under a name, then show that list again. The way back is
        built from the saved list's own URL: nothing posted can send the browser anywhere else."""
        if not request.user.has_perm(SAVE_PERMISSION):
            raise PermissionDenied
        form = SaveViewForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "A saved view needs a name: nothing was saved.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:index"))
        data: dict[str, Any] = form.cleaned_data
        try:
            view = saved_view_save(
                owner=signed_in(request),
                name=data["name"],
                shared=data["shared"],
                changelist=data["changelist"],
                query=data["query"],
                viewable=viewable_lists(request, self.admin_site),
            )
        except InputRefused as refusal:
            self.message_user(request, str(refusal), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:index"))
        whose = "shared with the team" if view.shared else "for you only"
        self.message_user(
            request, f"Saved view “{view.name}” ({whose}): in this list's sidebar.", messages.SUCCESS
        )
        return HttpResponseRedirect(view.url())
