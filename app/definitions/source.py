"""Read a definition file into plain data plus a map from field path to line number."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.reader import ReaderError

FILE_PATH = "(file)"
YAML_PATH = "(yaml)"
# Aliases let a file reuse a block (a list of scores, say); expanded, a hostile file could
# still grow without bound, so the walk gives up past this many nodes.
MAX_NODES = 50_000
PLAIN = "plain text, numbers, lists and mappings"


@dataclass
class Source:
    """A parsed file: its data (None if unreadable), line per field path, and early problems."""

    data: Any = None
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[tuple[int, str, str]] = field(default_factory=list)

    def add(self, line: int, path: str, message: str) -> None:
        """Record a problem found while reading."""
        self.problems.append((line, path, message))


def read_source(path: Path) -> Source:
    """Read, decode and parse one YAML file without ever raising for bad content."""
    source = Source()
    try:
        raw = path.read_bytes()
    except OSError as error:
        source.add(1, FILE_PATH, f"cannot read the file ({error.strerror}); expected a readable YAML file")
        return source
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        bad = f"byte 0x{raw[error.start]:02x} at offset {error.start}"
        source.add(line, FILE_PATH, f"not valid UTF-8 ({bad}); expected UTF-8 text")
        return source
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        source.add(_mark_line(error), YAML_PATH, _yaml_message(error))
        return source
    except ReaderError as error:
        # Control characters are refused before parsing, located by offset rather than by mark.
        line = text[: error.position].count("\n") + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        source.add(line, YAML_PATH, f"contains the control character #x{code:04x}; expected printable UTF-8 text")
        return source
    if node is None:
        source.add(1, FILE_PATH, "the file is empty; expected a mapping with id, version, title and sections")
        return source
    walker = _Walker(source)
    walker.walk(node, "", ())
    if walker.aborted:
        return source
    loader = yaml.SafeLoader("")
    try:
        source.data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        # Tags such as !!python/object are refused by SafeLoader here, not while parsing.
        source.add(_mark_line(error), YAML_PATH, f"{error.problem or 'cannot build a value'}; expected {PLAIN}")
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as error:
        # An impossible date such as 2024-13-45 fails in the constructor, which has no line.
        detail = " ".join(str(error).split())
        source.add(1, YAML_PATH, f"cannot build a value ({detail}); expected {PLAIN}")
    finally:
        loader.dispose()
    return source


def line_for(lines: dict[str, int], path: str) -> int:
    """Line of the field at path, else of its nearest ancestor (a missing key's parent)."""
    probe = path
    while probe:
        if probe in lines:
            return lines[probe]
        cut = max(probe.rfind("."), probe.rfind("["))
        probe = probe[:cut] if cut > 0 else ""
    return lines.get("", 1)


class _Walker:
    """Record a line per path and flag duplicate keys while descending the node graph."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.count = 0
        self.aborted = False

    def walk(self, node: Node, path: str, ancestors: tuple[int, ...]) -> None:
        """Visit node at path; ancestors guards against aliases that contain themselves."""
        if self.aborted:
            return
        self.count += 1
        line = node.start_mark.line + 1
        self.source.lines.setdefault(path, line)
        if id(node) in ancestors or self.count > MAX_NODES:
            looped = id(node) in ancestors
            reason = "an alias refers to itself" if looped else f"more than {MAX_NODES} values after expanding aliases"
            self.source.add(line, path or FILE_PATH, f"{reason}; expected a plain, finite document")
            self.aborted = True
            return
        inner = (*ancestors, id(node))
        if isinstance(node, SequenceNode):
            for index, child in enumerate(node.value):
                self.walk(child, f"{path}[{index}]", inner)
        elif isinstance(node, MappingNode):
            self._walk_mapping(node, path, inner)

    def _walk_mapping(self, node: MappingNode, path: str, inner: tuple[int, ...]) -> None:
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.value == "<<":
                continue
            key = key_node.value
            child = f"{path}.{key}" if path else key
            key_line = key_node.start_mark.line + 1
            if key in first_seen:
                first = first_seen[key]
                self.source.add(key_line, child, f"duplicate key '{key}' (first given on line {first}); expected each key once")
                continue
            first_seen[key] = key_line
            # A key's own line beats its value's: block values start on the next line.
            self.source.lines[child] = key_line
            self.walk(value_node, child, inner)


def _mark_line(error: yaml.MarkedYAMLError) -> int:
    mark = error.problem_mark or error.context_mark
    return mark.line + 1 if mark is not None else 1


def _yaml_message(error: yaml.MarkedYAMLError) -> str:
    problem = error.problem or "invalid YAML"
    if error.context:
        where = f" on line {error.context_mark.line + 1}" if error.context_mark is not None else ""
        # PyYAML splits one sentence in two ("expected a single document" / "but found another").
        joined = problem.startswith("but ")
        problem = f"{error.context}{where} {problem}" if joined else f"{problem} ({error.context}{where})"
    return f"YAML syntax error: {problem}; expected 'key: value' lines with consistent indentation"
