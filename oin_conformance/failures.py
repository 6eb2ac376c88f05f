"""Typed check failures: what was seen, what was expected, and how to fix it.

A :class:`CheckFailure` is an :class:`AssertionError`, so pytest reports it natively; its
fields are structured, so the report writers never parse text. ``render()`` is the single
text form used by the terminal, JUnit, HTML and JSON alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MAX_SEEN = 4000


def _clip(text: str, limit: int = MAX_SEEN) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit} more characters, see the transcript)"


@dataclass(eq=False)
class CheckFailure(AssertionError):
    """A conformance check found the app does not meet an OIN requirement."""

    title: str
    seen: str
    expected: str
    fix: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        AssertionError.__init__(self, self.render())
        self.seen = _clip(self.seen)

    def render(self) -> str:
        """The one text form of this failure, identical in every report format."""
        return (
            f"{self.title}\n"
            f"  Seen:     {_indent(_clip(self.seen))}\n"
            f"  Expected: {_indent(self.expected)}\n"
            f"  Fix:      {_indent(self.fix)}"
        )

    def __str__(self) -> str:
        return self.render()

    def as_dict(self) -> dict[str, str]:
        return {"title": self.title, "seen": self.seen, "expected": self.expected, "fix": self.fix}


def excerpt(text: str, limit: int = 600) -> str:
    """``text`` stripped and cut at ``limit`` characters (the transcript has all of it)."""
    text = text.strip()
    return text if len(text) <= limit else text[:limit] + " …"


def _indent(text: str) -> str:
    return text.replace("\n", "\n            ")


@dataclass(eq=False)
class Inconclusive(CheckFailure):
    """A check could not judge the app (SPEC §10): its positive control did not work on the
    same path, or the hostile input never reached the app. Never a pass; a blocking
    inconclusive check keeps its protocol from being ready and fails the run.

    ``title`` says what could not be judged, ``seen`` what happened instead, ``expected`` what
    the judgement needed, ``fix`` what to make work first.
    """

    outcome = "inconclusive"

    def render(self) -> str:
        return "Could not judge: " + super().render()


def inconclusive(title: str, *, seen: str, expected: str, fix: str, **details: Any) -> Inconclusive:
    """Build an :class:`Inconclusive` (raise the result: ``raise inconclusive(...)``)."""
    return Inconclusive(title=title, seen=seen, expected=expected, fix=fix, details=details)


def fail(title: str, *, seen: str, expected: str, fix: str, **details: Any) -> CheckFailure:
    """Build a :class:`CheckFailure` (raise the result: ``raise fail(...)``)."""
    return CheckFailure(title=title, seen=seen, expected=expected, fix=fix, details=details)
