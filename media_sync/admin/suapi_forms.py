"""The Booking.com gallery's forms: tags chosen by name, photo ids in order, a room's photos."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from media_sync.models import SuTag


def tag_choices() -> list[tuple[int, str]]:
    """Booking.com's tags as a person chooses them: by name (the id is what is sent)."""
    return list(SuTag.objects.order_by("name").values_list("tag_id", "name"))


class TagChoiceField(forms.TypedMultipleChoiceField):
    """Tags ticked by name from the tag table; an id not in it is no choice (refused by the form)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(choices=tag_choices, coerce=int, widget=forms.CheckboxSelectMultiple, **kwargs)


def split_ids(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,;]+", text) if part]


class PhotoTagsForm(forms.Form):
    tags = TagChoiceField(help_text="Replaces the photo's tags at Booking.com.")


class PhotoOrderForm(forms.Form):
    photo_ids = forms.CharField(
        label="Photo ids in order",
        widget=forms.Textarea(attrs={"rows": 8, "cols": 40}),
        help_text="Booking.com photo ids, one a line (or separated by commas); the first becomes main.",
    )

    def clean_photo_ids(self) -> list[str]:
        return split_ids(self.cleaned_data["photo_ids"])


class RoomPhotosForm(forms.Form):
    change = forms.ChoiceField(
        choices=[("associate", "Add to the room"), ("unassociate", "Take out of the room")],
        widget=forms.RadioSelect,
        initial="associate",
    )
    photo_ids = forms.CharField(
        label="Photo ids",
        widget=forms.Textarea(attrs={"rows": 4, "cols": 40}),
        help_text="Booking.com photo ids of this property, separated by commas, spaces or new lines.",
    )

    def clean_photo_ids(self) -> list[str]:
        return split_ids(self.cleaned_data["photo_ids"])
