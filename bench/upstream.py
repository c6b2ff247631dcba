"""A local Shopify GraphQL Admin API double for the benchmark.

Answers ``POST /admin/api/{version}/graphql.json`` with one realistic
customer (shaped like Shopify's documented ``customer`` query response) and
the ``customers`` connection for list queries. Run: ``python bench/upstream.py PORT``.
"""

from __future__ import annotations

import json
import sys

from aiohttp import web

CUSTOMER = {
    "id": "gid://shopify/Customer/544365967",
    "legacyResourceId": "544365967",
    "firstName": "Bob",
    "lastName": "Bobsen",
    "displayName": "Bob Bobsen",
    "state": "ENABLED",
    "createdAt": "2005-06-15T15:57:11Z",
    "updatedAt": "2005-06-16T15:57:11Z",
    "note": None,
    "tags": ["Bob", "Canadian", "Léon", "Noël"],
    "verifiedEmail": True,
    "taxExempt": False,
    "defaultEmailAddress": {"emailAddress": "bob@example.com", "marketingState": "SUBSCRIBED"},
    "defaultPhoneNumber": {"phoneNumber": "+13125551212", "marketingState": "NOT_SUBSCRIBED"},
    "amountSpent": {"amount": "8305.6", "currencyCode": "USD"},
    "defaultAddress": {
        "id": "gid://shopify/MailingAddress/544365967?model_name=CustomerAddress",
        "firstName": "Bob", "lastName": "Bobsen", "company": "Example Inc.",
        "address1": "123 Amoebobacterieae St", "address2": "", "city": "Ottawa",
        "province": "Ontario", "provinceCode": "ON", "zip": "K2P0V6", "country": "Canada",
        "countryCodeV2": "CA", "phone": "+1(613)555-1212",
    },
    "addressesV2": {"nodes": [{
        "id": "gid://shopify/MailingAddress/544365967?model_name=CustomerAddress",
        "firstName": "Bob", "lastName": "Bobsen", "company": "Example Inc.",
        "address1": "123 Amoebobacterieae St", "address2": "", "city": "Ottawa",
        "province": "Ontario", "provinceCode": "ON", "zip": "K2P0V6", "country": "Canada",
        "countryCodeV2": "CA", "phone": "+1(613)555-1212",
    }]},
    "metafields": {"nodes": [{"namespace": "custom", "key": "fav_dish", "value": "broccoli",
                              "type": "single_line_text_field"}]},
}
EXTENSIONS = {"cost": {"requestedQueryCost": 12, "actualQueryCost": 12, "throttleStatus": {
    "maximumAvailable": 2000.0, "currentlyAvailable": 1988, "restoreRate": 100.0}}}
ONE = json.dumps({"data": {"customer": CUSTOMER}, "extensions": EXTENSIONS}).encode()


def page_body(first: int) -> bytes:
    nodes = []
    for n in range(first):
        node = dict(CUSTOMER, id=f"gid://shopify/Customer/{1000 + n}", legacyResourceId=str(1000 + n))
        nodes.append(node)
    return json.dumps({"data": {"customers": {
        "nodes": nodes,
        "pageInfo": {"hasNextPage": True, "hasPreviousPage": False,
                     "startCursor": "eyJsYXN0X2lkIjoxMDAwfQ==", "endCursor": "eyJsYXN0X2lkIjoxMDQ5fQ=="},
    }}, "extensions": EXTENSIONS}).encode()


PAGES: dict[int, bytes] = {}


async def graphql(request: web.Request) -> web.Response:
    body = await request.read()
    if b"customers(" in body:
        first = json.loads(body).get("variables", {}).get("first", 50)
        payload = PAGES.get(first) or PAGES.setdefault(first, page_body(first))
    else:
        payload = ONE
    return web.Response(body=payload, content_type="application/json")


def main() -> None:
    app = web.Application()
    app.router.add_post("/admin/api/{version}/graphql.json", graphql)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
