"""The API's JSON parser: DRF's, plus a limit on nesting."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Far deeper than any request body of API.md (an order's lines are three levels down), far
# shallower than anything that could exhaust the stack later (validation, fingerprints, logging).
MAX_NESTING = 32


class JSONParser(parsers.JSONParser):
    """Refuses a body nested deeper than MAX_NESTING as a parse error (400), instead of a 500.

    Python's JSON decoder recurses once per level, so a 2 KB body of a thousand nested arrays
    raises RecursionError, which DRF's parser does not catch.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_NESTING} levels.") from None
        if _nesting(data) > MAX_NESTING:
            raise ParseError(f"JSON parse error - nested deeper than {MAX_NESTING} levels.")
        return data


def _nesting(data) -> int:
    """How many arrays and objects deep `data` goes; iterative, so it cannot exhaust the stack itself."""
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_NESTING:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest
