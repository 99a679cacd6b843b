"""Says whether an order's quantity is in stock (at most MAX_QUANTITY items, set by the template)."""

import os


def handler(event, context):
    limit = int(os.environ["MAX_QUANTITY"])
    quantity = int(event["quantity"])
    return {"available": quantity <= limit, "limit": limit, "stage": os.environ["STAGE"]}
