"""Marshmallow schemas that load and dump the common case quickly, with the same result.

On the hot routes marshmallow's own machinery costs more than the data: a load goes
through the hooks, the error store, partial loading and unknown-field bookkeeping for
a body of two fields; a dump through three calls per field to write an integer.
`FastSchema` keeps the schema the one source (the OpenAPI document, validation and
every error message come from its fields) and changes only how a valid request and a
plain answer are processed:

- `load`: each field's own `deserialize` (its type check, `required`, `allow_none`,
  `load_default` and validators) without the schema machinery around it. At the first
  thing that is not plainly valid (a field's error, an unknown field under RAISE) the
  data is loaded again by marshmallow itself, so every refusal is marshmallow's, with
  its exact messages.
- `dump`: each field turned into one small function when the schema is first used:
  strings and integers written directly, maps, lists and nested schemas compiled the
  same way, any other field through its own `serialize`.

A schema with hooks (pre/post load or dump, `validates`, `validates_schema`) or built
with `only`/`exclude`/`partial` is processed by marshmallow as before.
tests/test_http_overhead.py holds both paths to marshmallow's results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from marshmallow import missing
from marshmallow.decorators import (
    POST_DUMP,
    POST_LOAD,
    PRE_DUMP,
    PRE_LOAD,
    VALIDATES,
    VALIDATES_SCHEMA,
)
from marshmallow.utils import ensure_text_type, get_value, set_value

Serializer = Callable[[Any], Any]
_UNSET = object()  # a schema instance not yet compiled


def _plain(schema: ma.Schema, hooks: tuple[str, ...]) -> bool:
    """Whether marshmallow would do nothing for `schema` beyond its fields."""
    return (
        not any(schema._hooks[hook] for hook in hooks)
        and not schema.only
        and not schema.exclude
        and not schema.partial
        and type(schema).get_attribute is ma.Schema.get_attribute
    )


# Dump --------------------------------------------------------------------------------


def _value_serializer(field: ma.fields.Field) -> Serializer:
    """The function of one value that `field._serialize` is, for the common types."""
    if type(field) is ma.fields.String:

        def string(value: Any) -> Any:
            if type(value) is str or value is None:
                return value
            return ensure_text_type(value)

        return string
    if isinstance(field, ma.fields.Integer) and not field.as_string:

        def integer(value: Any) -> Any:
            if type(value) is int or value is None:
                return value
            return int(value)

        return integer
    if isinstance(field, ma.fields.Nested) and isinstance(field.schema, ma.Schema):
        return _nested_serializer(field)
    if type(field) is ma.fields.List:
        inner = _value_serializer(field.inner)
        return lambda value: None if value is None else [inner(each) for each in value]
    if (
        isinstance(field, ma.fields.Mapping)
        and field.mapping_type is dict
        and field.key_field is not None
        and field.value_field is not None
    ):
        key, value_of = _value_serializer(field.key_field), _value_serializer(field.value_field)
        return lambda value: (
            None if value is None else {key(k): value_of(v) for k, v in value.items()}
        )
    return lambda value: field._serialize(value, None, None)


def _nested_serializer(field: ma.fields.Nested) -> Serializer:
    schema = field.schema
    many = bool(schema.many or field.many)
    dump = compile_dump(schema)
    if dump is None:
        return lambda value: None if value is None else schema.dump(value, many=many)
    if many:
        return lambda value: None if value is None else [dump(each) for each in value]
    return lambda value: None if value is None else dump(value)


def compile_dump(schema: ma.Schema) -> Serializer | None:
    """`schema.dump` of one object as one function, or None when it has dump hooks."""
    if not _plain(schema, (PRE_DUMP, POST_DUMP)):
        return None
    plan: list[tuple[str, str, Any, Callable[[Any], Any]]] = []
    for name, field in schema.dump_fields.items():
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute if field.attribute is not None else name
        if field._CHECK_ATTRIBUTE:
            plan.append((key, attribute, field.dump_default, _value_serializer(field)))
        else:  # a field computed from the whole object (Function, Method)
            plan.append((key, name, _UNSET, field.serialize))

    def dump(obj: Any) -> dict:
        result = {}
        for key, attribute, default, serialize in plan:
            if default is _UNSET:
                value = serialize(attribute, obj, get_value)
                if value is not missing:
                    result[key] = value
                continue
            value = get_value(obj, attribute)
            if value is missing:
                value = default() if callable(default) else default
                if value is missing:
                    continue
            result[key] = serialize(value)
        return result

    return dump


# Load --------------------------------------------------------------------------------


class _NotPlain(Exception):
    """The data is not plainly valid: marshmallow loads it and reports what it finds."""


def compile_load(schema: ma.Schema) -> Callable[[Mapping, str], dict] | None:
    """`schema.load` of valid data as one function, or None when it has load hooks.

    The function raises `_NotPlain` where marshmallow might refuse the data."""
    if not _plain(schema, (PRE_LOAD, POST_LOAD, VALIDATES, VALIDATES_SCHEMA)):
        return None
    plan = []
    known = set()
    for name, field in schema.load_fields.items():
        key = field.data_key if field.data_key is not None else name
        known.add(key)
        plan.append((key, field.attribute or name, "." in (field.attribute or name), field))

    def load(data: Mapping, unknown: str) -> dict:
        if not isinstance(data, Mapping):
            raise _NotPlain
        result: dict = {}
        for key, attribute, dotted, field in plan:
            raw = data.get(key, missing)
            try:
                value = field.deserialize(raw, key, data)
            except ma.ValidationError:
                raise _NotPlain from None
            if value is missing:
                continue
            if dotted:
                set_value(result, attribute, value)
            else:
                result[attribute] = value
        if unknown != ma.EXCLUDE and not known.issuperset(data):
            raise _NotPlain  # RAISE refuses, INCLUDE copies: marshmallow decides
        return result

    return load


class FastSchema(ma.Schema):
    """A marshmallow schema whose `load` and `dump` take the fast path described in the
    module docstring whenever they can, and give marshmallow's results."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        dumper = self.__dict__.get("_fast_dump", _UNSET)
        if dumper is _UNSET:
            dumper = self.__dict__["_fast_dump"] = compile_dump(self)
        if dumper is None:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [dumper(each) for each in obj]
        return dumper(obj)

    def load(
        self,
        data: Any,
        *,
        many: bool | None = None,
        partial: Any = None,
        unknown: str | None = None,
    ) -> Any:
        loader = self.__dict__.get("_fast_load", _UNSET)
        if loader is _UNSET:
            loader = self.__dict__["_fast_load"] = compile_load(self)
        if loader is not None and not (self.many if many is None else many) and not partial:
            try:
                return loader(data, self.unknown if unknown is None else unknown)
            except _NotPlain:
                pass
        return super().load(data, many=many, partial=partial, unknown=unknown)
