"""A small Dockerfile and .dockerignore reader, enough to check the recipe without a Docker engine.

It handles what our Dockerfile uses: line continuations, comments, global ARGs with defaults, stages
named with ``AS``, ``${VAR}`` in FROM, and shell- or exec-form COPY with ``--from`` / ``--chown`` flags.
"""

import json
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case, e.g. "RUN"
    args: str  # the rest, continuation lines joined with a space
    line: int  # 1-based line of the keyword


@dataclass
class Stage:
    base: str  # as written, e.g. "base-${RUNTIME}"
    name: str | None
    line: int
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


@dataclass
class Dockerfile:
    args: dict[str, str | None]  # global ARGs (before the first FROM) and their defaults
    stages: list[Stage]

    def stage(self, name: str) -> Stage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(f"no stage named {name!r}; stages: {[s.name for s in self.stages]}")


def logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, instruction text) with continuations joined and comment lines dropped."""
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for n, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):  # comment inside a continued instruction: Docker drops it
            continue
        if not buf:
            start = n
        if stripped.endswith("\\"):
            buf.append(stripped[:-1].strip())
            continue
        buf.append(stripped)
        out.append((start, " ".join(p for p in buf if p)))
        buf = []
    if buf:
        out.append((start, " ".join(buf)))
    return out


def parse(text: str) -> Dockerfile:
    args: dict[str, str | None] = {}
    stages: list[Stage] = []
    for line, content in logical_lines(text):
        keyword, _, rest = content.partition(" ")
        keyword = keyword.upper()
        rest = rest.strip()
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name, line=line))
        elif not stages:
            if keyword != "ARG":
                raise ValueError(f"line {line}: only ARG may come before the first FROM, got {keyword}")
            key, eq, default = rest.partition("=")
            args[key.strip()] = default.strip().strip('"') if eq else None
        else:
            stages[-1].instructions.append(Instruction(keyword, rest, line))
    return Dockerfile(args, stages)


def substitute(text: str, values: dict[str, str | None]) -> str:
    """Expand ``${VAR}`` and ``$VAR`` from ``values``; unknown variables are left as they are."""

    def repl(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        value = values.get(name)
        return value if value is not None else m.group(0)

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", repl, text)


def chain(df: Dockerfile, stage: Stage, build_args: dict[str, str | None]) -> list[Stage]:
    """``stage`` and the stages it is built FROM, nearest first, up to one based on an external image."""
    values = {**df.args, **build_args}
    names = {s.name for s in df.stages}
    out = [stage]
    while (base := substitute(out[-1].base, values)) in names:
        out.append(df.stage(base))
    return out


def base_image(df: Dockerfile, stage: Stage, build_args: dict[str, str | None]) -> str:
    """The external image at the root of ``stage``'s chain, with ARGs expanded."""
    return substitute(chain(df, stage, build_args)[-1].base, {**df.args, **build_args})


def run_command(instr: Instruction) -> tuple[dict[str, list[str]], str]:
    """A RUN's BuildKit flags (``--mount=...``, may repeat) and the shell command that follows them."""
    flags: dict[str, list[str]] = {}
    rest = instr.args
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        key, _, value = word[2:].partition("=")
        flags.setdefault(key, []).append(value)
        rest = rest.lstrip()
    return flags, rest


@dataclass(frozen=True)
class Copy:
    flags: dict[str, str]
    sources: list[str]
    dest: str


def parse_copy(instr: Instruction) -> Copy:
    words = shlex.split(instr.args)
    flags: dict[str, str] = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    rest = " ".join(words)
    if rest.startswith("["):
        words = json.loads(rest)
    if len(words) < 2:
        raise ValueError(f"line {instr.line}: COPY needs a source and a destination: {instr.args!r}")
    return Copy(flags, words[:-1], words[-1])


def _glob_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            if pattern.startswith("/", i):  # "**/" also matches no folder at all
                out = out[:-2] + "(?:.*/)?"
                i += 1
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += pattern[i : end + 1]
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


@dataclass(frozen=True)
class DockerIgnore:
    rules: tuple[tuple[bool, re.Pattern[str]], ...]  # (is_exception, pattern), in file order

    @classmethod
    def read(cls, path: Path) -> "DockerIgnore":
        rules = []
        for raw in path.read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line[1:].strip() if negate else line
            pattern = pattern.strip("/")  # Docker cleans patterns: "dir/" and "/dir" mean "dir"
            rules.append((negate, _glob_regex(pattern)))
        return cls(tuple(rules))

    def ignored(self, relpath: str) -> bool:
        """Docker's rule: the last pattern matching the path, or one of its parent folders, decides."""
        parts = relpath.strip("/").split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for negate, rx in self.rules:
            if any(rx.match(p) for p in prefixes):
                result = not negate
        return result
