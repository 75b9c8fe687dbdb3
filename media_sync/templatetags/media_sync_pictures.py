"""`{% picture obj %}`: the admin's one way of showing a photo's thumbnail (media_sync.admin.pictures)."""

from __future__ import annotations

from django import template
from django.db.models import Model
from django.utils.safestring import SafeString

from media_sync.admin.pictures import picture as picture_html

register = template.Library()


@register.simple_tag
def picture(obj: Model | None) -> SafeString:
    return picture_html(obj)
