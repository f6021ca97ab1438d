"""Small wording helpers shared by messages and reports."""


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 candidate`, `2 candidates` (or the given plural form)."""
    return f"{n} {word if n == 1 else (many or word + 's')}"
