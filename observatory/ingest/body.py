"""Reading request bodies safely: size limit before and after decompression, gzip, errors."""

from __future__ import annotations

import zlib

from starlette.requests import ClientDisconnect, Request


class BadInput(Exception):
    """A client error: `status` is the HTTP status, the message one line a person can act on."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, decompressed; 413 past `limit` bytes (compressed or not).

    Streams chunk by chunk (agents send chunked bodies with no Content-Length) and
    inflates with a bounded output size, so neither a huge upload nor a gzip bomb can
    exhaust memory.
    """
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise BadInput(413, f"body of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:  # the ASGI messages themselves: Request.stream()'s async generator cost more than reading
        message = await request.receive()
        if message["type"] != "http.request":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        more = message.get("more_body", False)
        size += len(chunk)
        if size > limit:
            raise BadInput(413, f"body is over the {limit}-byte limit")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise BadInput(415, f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | (16 if encoding == "gzip" else 0))
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise BadInput(400, f"body is not valid {encoding}: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise BadInput(413, f"decompressed body is over the {limit}-byte limit")
    if not inflater.eof:
        raise BadInput(400, f"{encoding} body is truncated")
    return out
