def handler(event, context):
    return {"via": "pkg.mod", "data": event.get("data")}
