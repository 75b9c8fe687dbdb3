"""A saved view: a filtered admin list kept under a name, for oneself or shared with the team."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

# Longer than any filtered list's query string a person builds; a longer one is refused, not cut.
QUERY_MAX_LENGTH = 2000


class SavedView(models.Model):
    """Only the list (its model's label) and the query string are kept: the link is always built from
    this site's own URL for that list, so no saved view can lead anywhere else."""

    name = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    shared = models.BooleanField(default=False, help_text="Shown to the whole team, not only to its owner.")
    changelist = models.CharField(max_length=100, help_text="The list's model, as app_label.model_name.")
    query = models.CharField(max_length=QUERY_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["changelist", "name"], name="saved_view_list")]
        permissions = [("manage_shared_savedview", "Can rename and delete the team's shared views")]

    def __str__(self) -> str:
        return self.name

    def url(self) -> str:
        """The list this view opens, with its filters ('' if the list no longer exists)."""
        app_label, _, model_name = self.changelist.partition(".")
        try:
            base = reverse(f"admin:{app_label}_{model_name}_changelist")
        except NoReverseMatch:
            return ""
        return f"{base}?{self.query}" if self.query else base
