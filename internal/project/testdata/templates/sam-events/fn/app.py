def handler(e, c):
    return e
