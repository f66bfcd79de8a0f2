"""Safe YAML loading that remembers where every value came from.

The policy file is composed into nodes with PyYAML's safe loader, then turned into plain
Python values by hand so that we can refuse duplicate keys, bound alias expansion (a
"billion laughs" file fails fast) and keep the line of every key path for error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from funnelcli.errors import ConfigError

Key = tuple[str | int, ...]

# A real policy has a few hundred nodes and is a few KiB; anything far beyond that is an
# alias bomb, a data file passed by mistake, or /dev/zero.
MAX_NODES = 100_000
MAX_BYTES = 10 << 20
MAX_DEPTH = 50  # nesting of mappings and lists (a real policy: about 10)
_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


@dataclass
class YamlSource:
    """The parsed document plus the 1-based line of each key path in it."""

    path: Path
    data: Any
    lines: dict[Key, int] = field(default_factory=dict)

    def line(self, loc: Key) -> int | None:
        """The line of ``loc`` or of its nearest ancestor that has one."""
        for cut in range(len(loc), -1, -1):
            if loc[:cut] in self.lines:
                return self.lines[loc[:cut]]
        return None

    def where(self, loc: Key) -> str:
        """``file:line`` for a key path, for error messages."""
        line = self.line(loc)
        return f"{self.path}:{line}" if line else str(self.path)


def format_loc(loc: Key) -> str:
    """``stages[1].requires.all[0]`` from ``("stages", 1, "requires", "all", 0)``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def format_problems(source: YamlSource, problems: list[tuple[Key, str]]) -> str:
    """One line per problem, ``file:line: key.path: what``, with a count header when many."""
    lines = [f"{source.where(loc)}: {format_loc(loc)}: {text}" for loc, text in problems]
    head = f"{source.path}: {len(lines)} problems in the policy:\n" if len(lines) > 1 else ""
    return head + "\n".join(lines)


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, counting nodes and nesting as it composes, so an oversized or
    too deep document fails at once instead of after composing everything."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.nodes = 0
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node:  # type: ignore[override]
        self.nodes += 1
        self.depth += 1
        try:
            if self.nodes > MAX_NODES:
                mark = self.peek_event().start_mark
                raise _TooBig(mark.line + 1, f"more than {MAX_NODES:,} values")
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise _TooBig(mark.line + 1, f"nesting deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self.depth -= 1


class _TooBig(Exception):
    def __init__(self, line: int, what: str) -> None:
        super().__init__(what)
        self.line, self.what = line, what


class _Builder:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.loader = yaml.SafeLoader("")
        self.lines: dict[Key, int] = {}
        self.visited = 0

    def build(self, node: yaml.Node, loc: Key) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            msg = (
                f"{self.path}:{node.start_mark.line + 1}: the YAML expands to more than "
                f"{MAX_NODES:,} values (aliases nested too deep?). Write the policy out plainly."
            )
            raise ConfigError(msg)
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.CollectionNode) and node.tag not in _PLAIN_TAGS:
            msg = (
                f"{self.path}:{node.start_mark.line + 1}: invalid YAML: tag {node.tag!r} is not "
                "allowed; the policy holds plain data only."
            )
            raise ConfigError(msg)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*loc, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, loc: Key) -> dict[Any, Any]:
        self.loader.flatten_mapping(node)  # resolves YAML merge keys (<<)
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key)
            if key in out:
                msg = (
                    f"{self.path}:{key_node.start_mark.line + 1}: duplicate key '{key}' in "
                    f"{format_loc(loc) or 'the top level'}. Keep one of them."
                )
                raise ConfigError(msg)
            self.lines[(*loc, key)] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*loc, key))
        return out


def load_yaml(path: Path) -> YamlSource:
    """Read ``path`` as YAML; every failure is a ConfigError naming the file and line."""
    try:
        text = _read_bounded(path)
    except FileNotFoundError:
        msg = (
            f"config file {path} not found. Pass --config PATH, or run `funnel init` to "
            "write a starter funnel.yaml."
        )
        raise ConfigError(msg) from None
    except (OSError, UnicodeDecodeError) as err:
        msg = f"cannot read config file {path}: {err}"
        raise ConfigError(msg) from None
    builder = _Builder(path)
    try:
        loader = _BoundedLoader(text)
    except yaml.reader.ReaderError as err:  # PyYAML refuses control characters up front
        raise ConfigError(_unprintable(path, text, err)) from None
    try:
        node = loader.get_single_node()
        data = builder.build(node, ()) if node is not None else None
    except _TooBig as err:
        msg = f"{path}:{err.line}: the policy has {err.what}; write it out plainly."
        raise ConfigError(msg) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = f":{mark.line + 1}" if mark else ""
        msg = f"{path}{line}: invalid YAML: {err.problem or err.context}"
        raise ConfigError(msg) from None
    except yaml.YAMLError as err:
        msg = f"{path}: invalid YAML: {err}"
        raise ConfigError(msg) from None
    finally:
        loader.dispose()
    return YamlSource(path=path, data=data, lines=builder.lines)


def _unprintable(path: Path, text: str, err: yaml.reader.ReaderError) -> str:
    """Where the character YAML does not allow is, and what it is."""
    before = text[: err.position]
    line, column = before.count("\n") + 1, err.position - before.rfind("\n")
    char = err.character if isinstance(err.character, str) else chr(err.character)
    return (
        f"{path}:{line}: invalid YAML: control character U+{ord(char):04X} at column "
        f"{column}. Remove it (an editor can show hidden characters)."
    )


def _read_bounded(path: Path) -> str:
    """The file's text, read up to MAX_BYTES (a FIFO such as ``-c <(envsubst < f)`` works;
    ``/dev/zero`` or a data file passed by mistake fails fast)."""
    if path.is_dir():
        raise IsADirectoryError(21, "is a folder, not a file")
    with path.open("rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        msg = f"config file {path} is over {MAX_BYTES >> 20} MiB; a policy is a few KiB."
        raise ConfigError(msg)
    return raw.decode("utf-8-sig")
