"""The hub codec as a faust codec: ``app.topic(..., value_serializer=AVRO_CODEC_NAME)``.

Importing this module registers the codec under the name ``cmehub-avro``; faust agents then read
and write plain event dicts. Undecodable bytes raise :class:`schemas.codec.UndecodableMessage`
(faust wraps it in its ``ValueDecodeError`` and hands it to the channel's decode-error handler).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from faust.serializers import codecs

from schemas.codec import Codec, EncodeError, default_codec

AVRO_CODEC_NAME = "cmehub-avro"


class AvroEventCodec(codecs.Codec):
    """Encodes event dicts with the hub codec (single-object or Confluent framing)."""

    def __init__(self, children: Any = None, hub_codec: Codec | None = None, **kwargs: Any) -> None:
        super().__init__(children=children, **kwargs)
        self._hub_codec = hub_codec

    @property
    def hub_codec(self) -> Codec:
        """The underlying hub codec (the process-wide one unless given)."""
        return self._hub_codec or default_codec()

    def _dumps(self, obj: Any) -> bytes:
        if hasattr(obj, "asdict") and not isinstance(obj, Mapping):
            obj = obj.asdict()
        if not isinstance(obj, Mapping):
            raise EncodeError(type(obj).__name__, [f"expected an event dict, got {type(obj).__name__}"])
        return self.hub_codec.encode(obj)

    def _loads(self, s: bytes) -> Any:
        return self.hub_codec.decode(s)


def register() -> None:
    """Register the codec with faust (idempotent; done on import)."""
    codecs.register(AVRO_CODEC_NAME, AvroEventCodec())


register()
