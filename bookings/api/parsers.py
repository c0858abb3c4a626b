"""The JSON parser every API view uses: DRF's, with a bound on how deeply a body may nest.

No request body of any contract nests more than a few levels. A body nested 100,000 deep made
the decoder raise RecursionError (a 500 with a traceback), and one just under the interpreter's
limit would reach every later step that walks it (validation, the idempotency fingerprint): both
are a 400 here, before any view sees them."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep"


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """True if `data` nests lists or objects more than `limit` levels deep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class DepthLimitedJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(TOO_DEEP) from exc
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data
