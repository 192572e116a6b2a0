"""`GET /v1/catalog` → the catalog of the loaded rules (engine.rules), no store read: what
players can buy, at the server's prices.
"""

from __future__ import annotations

import marshmallow as ma

from web.api import Blueprint
from web.extensions import get_engine
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


@blp.route("")
@blp.response(200, CatalogSchema())
def catalog():
    return {"items": list(get_engine().rules.catalog.values())}
