"""The SU API gallery verbs: show, update (tags), imageOrder, retrieveAssociateImages, associate and
unassociate, and the public sample_url previews; each answering in the Success / Fail envelope."""

from __future__ import annotations

from typing import Any

from integrations.simkit import SimRequest, SimResponse, json_response
from integrations.suapi.simulator.api import _NO_PHOTOS, _Api, _fail, _is_int, _ruid, _text
from integrations.suapi.simulator.state import TAGS, SimPhoto, SimProperty, SimRoom


def _success(data: Any, message: str) -> SimResponse:
    return json_response(200, {"Status": "Success", "Data": data, "Message": message, "Ruid": _ruid()})


def _photo_ids(body: dict[str, Any]) -> list[str] | None:
    ids = body.get("photo_ids")
    if not isinstance(ids, list) or not ids:
        return None
    return [_text(photo_id) for photo_id in ids]


class _Gallery(_Api):
    """A property's gallery (main photo first, then Booking.com's order) and its rooms' galleries."""

    def _room(self, prop: SimProperty, body: dict[str, Any]) -> SimRoom | SimResponse | None:
        if "channel_room_id" not in body:
            return None
        room = prop.rooms.get(_text(body.get("channel_room_id")))
        if room is None:
            return _fail("400", f"Invalid channel_room_id ('{_text(body.get('channel_room_id'))}')")
        return room

    def _room_request(
        self, request: SimRequest
    ) -> tuple[dict[str, Any], SimProperty, SimRoom | None] | SimResponse:
        """A call that may name one of the property's rooms (`channel_room_id`): None when it names none."""
        target = self._request(request)
        if isinstance(target, SimResponse):
            return target
        body, prop = target
        room = self._room(prop, body)
        return room if isinstance(room, SimResponse) else (body, prop, room)

    def _show(self, request: SimRequest) -> SimResponse:
        target = self._photo_request(request)
        if isinstance(target, SimResponse):
            return target
        *_, photo = target
        return _success(self._photo_dict(request, photo), "Image Fetched Successfully")

    def _update(self, request: SimRequest) -> SimResponse:
        target = self._photo_request(request)
        if isinstance(target, SimResponse):
            return target
        body, _prop, photo = target
        tags = body.get("tags")
        if not isinstance(tags, list) or any(not _is_int(tag) for tag in tags):
            return _fail("574", "Invalid image tags: tags must be a list of integers")
        unknown = [str(tag) for tag in tags if tag not in TAGS]
        if unknown:
            return _fail("574", f"Invalid image tags: {', '.join(unknown)}")
        if len(set(tags)) != len(tags):
            return _fail("574", "Invalid image tags: a tag is repeated")
        photo.tags = list(tags)
        return _success([], "Image Tags Updated Successfully")

    def _image_order(self, request: SimRequest) -> SimResponse:
        target = self._room_request(request)
        if isinstance(target, SimResponse):
            return target
        body, prop, room = target
        ids = _photo_ids(body)
        if ids is None:
            return _fail("578", _NO_PHOTOS)
        if len(set(ids)) != len(ids):
            return _fail("400", "photo_ids: a photo is named twice")
        within = room.photo_ids if room is not None else [photo.photo_id for photo in prop.photos]
        if any(photo_id not in within for photo_id in ids):
            return _fail("578", _NO_PHOTOS)
        # The photos named come first, in the order given; the others keep their places after them.
        order = ids + [photo_id for photo_id in within if photo_id not in ids]
        if room is not None:
            room.photo_ids, room.ordered = order, True
        else:
            by_id = {photo.photo_id: photo for photo in prop.photos}
            prop.set_order([by_id[photo_id] for photo_id in order])
            prop.ordered = True
        return _success([], "Image Order Updated Successfully")

    def _retrieve_associate(self, request: SimRequest) -> SimResponse:
        target = self._room_request(request)
        if isinstance(target, SimResponse):
            return target
        _body, prop, room = target
        if room is None:
            photos, ordered = list(prop.photos), prop.ordered
        else:
            photos = [photo for photo_id in room.photo_ids if (photo := prop.find(photo_id))]
            ordered = room.ordered
        main, others = (photos[0], photos[1:]) if photos else (None, [])
        data = {
            "main_photo": self._associate_dict(main, with_tags=False) if main else {},
            "is_ordered": ordered,
            "other_photos": [self._associate_dict(photo) for photo in others],
        }
        return _success(data, "Associated Images Fetched Successfully")

    @staticmethod
    def _associate_dict(photo: SimPhoto, *, with_tags: bool = True) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "name": photo.url.rsplit("/", 1)[-1],
            "url": photo.url,
            "photo_id": photo.photo_id,
        }
        if with_tags:
            entry["tags"] = list(photo.tags)
        return entry

    def _associate(self, request: SimRequest, *, add: bool) -> SimResponse:
        target = self._room_request(request)
        if isinstance(target, SimResponse):
            return target
        body, prop, room = target
        if room is None:
            return _fail("400", "channel_room_id is required")
        ids = _photo_ids(body)
        if ids is None or any(prop.find(photo_id) is None for photo_id in ids):
            return _fail("578", _NO_PHOTOS)
        if add:
            room.photo_ids += [photo_id for photo_id in dict.fromkeys(ids) if photo_id not in room.photo_ids]
            return _success([], "Images Associated Successfully")
        if any(photo_id not in room.photo_ids for photo_id in ids):
            return _fail("578", _NO_PHOTOS)
        room.photo_ids = [photo_id for photo_id in room.photo_ids if photo_id not in ids]
        return _success([], "Images Unassociated Successfully")

    def _sample(self, request: SimRequest, photo_id: str) -> SimResponse:
        content = self.sample(photo_id)
        if content is None:
            return json_response(404, {"message": "Not found."})
        return SimResponse(200, {"Content-Type": "image/jpeg", "Content-Length": str(len(content))}, content)
