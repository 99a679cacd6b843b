raise ValueError("bad config at import")
