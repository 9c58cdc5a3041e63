"""Codecs and the object model, pure bytes: GVariant (binary and text), objects, content headers, keyfile, timestamps."""
