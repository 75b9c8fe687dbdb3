from __future__ import annotations

import re

from django import forms

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
