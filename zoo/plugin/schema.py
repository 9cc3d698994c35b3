"""The document schemas of zoo.core.schema, for plugins: check a file they read (an index, a foreign repo's
config) by type and range where they read it, and fail with one line naming the file and field."""

from __future__ import annotations

from zoo.core.schema import ANY, DocumentError, Fields, Flag, ListOf, MapOf, Maybe, Number, OneOf, Rule, Text, validate

__all__ = [
    "ANY",
    "DocumentError",
    "Fields",
    "Flag",
    "ListOf",
    "MapOf",
    "Maybe",
    "Number",
    "OneOf",
    "Rule",
    "Text",
    "validate",
]
