"""Parsing the Graph API ``fields`` query parameter for the emulator.

Meta's field expressions nest: ``a,b.limit(5){c,d},business_discovery.username(x)
{id,name}``. Each field is a name, optional ``.modifier(argument)`` calls, and an
optional ``{...}`` block of sub-fields. The emulator parses them properly so a
client that builds a malformed expression gets Meta's code 100, not a lucky pass.
"""

import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A modifier argument runs to the closing parenthesis; the characters that
# structure the expression cannot appear inside it.
_ARGUMENT = re.compile(r"[^(){},]*")


class FieldSyntaxError(ValueError):
    """The expression is not a well-formed field list."""


@dataclass
class FieldSpec:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    children: list["FieldSpec"] = field(default_factory=list)


def parse_fields(expression: str) -> list[FieldSpec]:
    """``"id,name"`` -> two specs; raises ``FieldSyntaxError`` when malformed."""
    parser = _Parser(expression)
    specs = parser.field_list()
    parser.skip_spaces()
    if not parser.at_end():
        raise FieldSyntaxError(f"unexpected {parser.peek()!r} at {parser.position}")
    return specs


class _Parser:
    """A recursive-descent reader over one expression."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def at_end(self) -> bool:
        return self.position >= len(self.text)

    def peek(self) -> str:
        return self.text[self.position] if not self.at_end() else ""

    def skip_spaces(self) -> None:
        while self.peek().isspace():
            self.position += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if self.peek() != char:
            found = self.peek() or "end of input"
            raise FieldSyntaxError(f"expected {char!r}, found {found!r}")
        self.position += 1

    def field_list(self) -> list[FieldSpec]:
        specs = [self.field()]
        self.skip_spaces()
        while self.peek() == ",":
            self.position += 1
            specs.append(self.field())
            self.skip_spaces()
        return specs

    def field(self) -> FieldSpec:
        spec = FieldSpec(name=self.name())
        self.skip_spaces()
        while self.peek() == ".":
            self.position += 1
            modifier = self.name()
            spec.modifiers[modifier] = self.argument()
            self.skip_spaces()
        if self.peek() == "{":
            self.position += 1
            spec.children = self.field_list()
            self.expect("}")
        return spec

    def name(self) -> str:
        self.skip_spaces()
        match = _NAME.match(self.text, self.position)
        if match is None:
            found = self.peek() or "end of input"
            raise FieldSyntaxError(f"expected a field name, found {found!r}")
        self.position = match.end()
        return match.group()

    def argument(self) -> str:
        self.expect("(")
        match = _ARGUMENT.match(self.text, self.position)
        assert match is not None  # the pattern also matches the empty string
        self.position = match.end()
        self.expect(")")
        return match.group().strip()
