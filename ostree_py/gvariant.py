"""GVariant serialisation (normal form, little-endian) for the types ostree uses.

Python value mapping:
  y n q i u x t h  -> int          b -> bool          d -> float
  s o g            -> str          v -> Variant(type, value)
  ay               -> bytes        a{..} -> dict (insertion order kept)
  other a*         -> list         m*  -> None or the value
  (...)            -> tuple        {..} outside an array -> tuple (key, value)

serialize(typ, value) -> bytes; deserialize(typ, data) -> value.
Deserialisation is strict: malformed framing raises GVariantError.
"""
