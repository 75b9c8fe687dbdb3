"""A thousand selected rows go through an intermediate form and back: one field per row (and per tick) is
more than Django's default field limit, which would answer 400."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from media_sync.models import RecoveryConnectOrder, RecoveryConnectPhoto
from tests.media_sync.factories import login

pytestmark = pytest.mark.django_db
PHOTOS = "/admin/media_sync/recoveryconnectphoto/"


def test_a_thousand_selected_photos_reach_the_transfer_form_and_come_back_with_its_error(
    client: Client,
) -> None:
    order = RecoveryConnectOrder.objects.create(order_id=57076503, client_order_id=9100001)
    RecoveryConnectPhoto.objects.bulk_create(
        RecoveryConnectPhoto(order=order, photo_id=180000000 + n, name=f"IMG_{n:04}.jpg") for n in range(1000)
    )
    pks = [str(pk) for pk in RecoveryConnectPhoto.objects.values_list("pk", flat=True)]
    login(client, "olga", "Operators")
    # "Select all 1,000" on the list: the admin posts the page's boxes and select_across.
    form = client.post(
        PHOTOS, {"action": "transfer_photos", "select_across": "1", "_selected_action": pks[:100]}
    )
    assert form.status_code == 200
    carried = re.findall(r'name="_selected_action" value="(\d+)"', form.text)
    assert sorted(carried) == sorted(pks)  # every selected row, not only the page's hundred
    # The operator sends it back with a destination that is not an id: the form answers, every row kept.
    data = {
        "action": "transfer_photos",
        "apply": "1",
        "destinations": "not-an-id",
        "_selected_action": carried,
    }
    data["include"] = re.findall(r'name="include" value="(\d+)"', form.text)  # pre-flight ticks, if any
    answer = client.post(PHOTOS, data)
    assert answer.status_code == 200
    assert "errornote" in answer.text or "errorlist" in answer.text
    assert len(re.findall(r'name="_selected_action"', answer.text)) == 1000
