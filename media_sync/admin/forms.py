"""The admin's own forms: what an operator types before a job starts."""

from __future__ import annotations

import re

from django import forms

from integrations.corrigopro.rules import DEFAULT_VISIBILITY, DOCUMENT_TYPES, MAX_PERFORMED_BY, VISIBILITIES
from media_sync.services.ids import parse_ids
from media_sync.services.recoveryconnect import rc_check_destination_count
from media_sync.services.refusals import InputRefused


class DestinationsForm(forms.Form):
    destinations = forms.CharField(
        label="Destination client order ids",
        widget=forms.Textarea(attrs={"rows": 3, "cols": 40, "placeholder": "57076502, 57076510"}),
        help_text="The client's own order references, separated by commas, spaces or new lines.",
    )

    def clean_destinations(self) -> list[int]:
        values = [part for part in re.split(r"[\s,;]+", self.cleaned_data["destinations"]) if part]
        try:
            destinations = parse_ids(values)
            rc_check_destination_count(destinations)
        except InputRefused as refusal:
            raise forms.ValidationError(str(refusal)) from None
        return destinations


DOCUMENT_TYPE_CHOICES = [("", "—")] + [(value, value) for value in DOCUMENT_TYPES]
VISIBILITY_CHOICES = [("", f"— ({DEFAULT_VISIBILITY})")] + [(value, value) for value in VISIBILITIES]


class UploadForm(forms.Form):
    file = forms.FileField(help_text="At most 20 MB. Its type is checked from its bytes.")
    name = forms.CharField(
        max_length=255, required=False, help_text="With the extension; the file's own name if empty."
    )
    document_type = forms.ChoiceField(choices=DOCUMENT_TYPE_CHOICES, required=False)
    visibility = forms.ChoiceField(choices=VISIBILITY_CHOICES, required=False)
    performed_by = forms.CharField(label="Performed by", max_length=MAX_PERFORMED_BY)
    performed_by_phone = forms.CharField(label="Phone", max_length=30, required=False)
    upload_anyway = forms.BooleanField(
        required=False,
        help_text="Leave unticked: a file already attached to this work order (the same bytes) is not "
        "sent again. Tick to send it anyway.",
    )


class MetadataForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="With the extension. The file itself cannot be changed.")
    document_type = forms.ChoiceField(choices=DOCUMENT_TYPE_CHOICES, required=False)
    visibility = forms.ChoiceField(choices=VISIBILITY_CHOICES, required=False)
