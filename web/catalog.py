"""`GET /v1/catalog` → the catalog of the loaded rules (engine.rules), no store read: what
players can buy, at the server's prices. The rules are loaded once, so the answer is
dumped with CatalogSchema once per rules object and its JSON sent as it is.
"""

from __future__ import annotations

import marshmallow as ma

from web.api import Blueprint
from web.extensions import get_engine
from web.responses import json_body, prebuilt_response
from web.schemas import amounts_field

blp = Blueprint("catalog", __name__, url_prefix="/v1/catalog", description="The catalog.")


class CatalogItemSchema(ma.Schema):
    item = ma.fields.String(required=True, attribute="item_id", metadata={"example": "steel"})
    title = ma.fields.String(required=True)
    price = amounts_field(required=True, metadata={"description": "Per unit."})
    gives = amounts_field(required=True, metadata={"description": "Per unit."})
    max_quantity = ma.fields.Integer(required=True)


class CatalogSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(CatalogItemSchema), required=True)


_encoded: tuple[object, bytes] = (None, b"")  # the catalog it was dumped from, its JSON


def catalog_json(catalog: dict) -> bytes:
    """The JSON of `catalog`, dumped with CatalogSchema the first time it is asked for.
    The pair is replaced whole, so a thread never reads one catalog's JSON for another."""
    global _encoded
    dumped_from, body = _encoded
    if dumped_from is not catalog:
        body = json_body(CatalogSchema().dump({"items": list(catalog.values())}))
        _encoded = (catalog, body)
    return body


@blp.route("")
@blp.response(200, CatalogSchema())
def catalog():
    return prebuilt_response(catalog_json(get_engine().rules.catalog))
