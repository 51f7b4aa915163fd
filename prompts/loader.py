"""Load the skill's prompt files (Markdown with a small front matter) and render them.

The files are package data of ``release_planner.prompts`` and are read through ``importlib.resources``,
so they are found the same way from a checkout, an editable install or a wheel.

Front matter is a deliberately tiny subset of YAML, parsed here so the package needs no YAML library::

    ---
    name: plan_rollout
    title: Plan the phased rollout
    description: One line for the prompt picker.
    arguments:
      - name: version
        description: Release version, e.g. 2.5.0
        required: true
    ---
    Body with {version} placeholders.

Only ``{identifier}`` placeholders naming a declared argument are substituted, in one pass, so JSON
examples in a body and braces inside argument values pass through untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import resources

from ..tools.common import MAX_TEXT, normalize_version
from ..tools.errors import InvalidInput

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_TOP_KEYS = frozenset({"name", "title", "description", "arguments"})
_ARG_KEYS = frozenset({"name", "description", "required", "default"})


@dataclass(frozen=True)
class PromptArg:
    name: str
    description: str
    required: bool = False
    # Text used for an optional argument the caller left out; it reads as an instruction to ask.
    default: str = ""


@dataclass(frozen=True)
class PromptDef:
    name: str
    title: str
    description: str
    arguments: list[PromptArg] = field(default_factory=list)
    body: str = ""

    def render(self, **args: str) -> str:
        """The body with each ``{argument}`` filled in.

        Raises InvalidInput for an unknown argument, a missing required one, an over-long value or an
        invalid ``version``.
        """
        declared = {a.name: a for a in self.arguments}
        unknown = sorted(set(args) - set(declared))
        if unknown:
            raise InvalidInput(
                f"prompt {self.name} has no argument {', '.join(unknown)}",
                field=unknown[0],
                valid=", ".join(declared) or "no arguments",
            )
        values: dict[str, str] = {}
        for arg in self.arguments:
            raw = args.get(arg.name)
            text = raw.strip() if isinstance(raw, str) else raw
            if text is None or text == "":
                if arg.required:
                    raise InvalidInput(
                        f"prompt {self.name} needs the argument {arg.name}",
                        field=arg.name,
                        valid=arg.description,
                    )
                values[arg.name] = arg.default
                continue
            if not isinstance(text, str):
                raise InvalidInput(f"must be a string, got {type(text).__name__}", field=arg.name)
            if len(text) > MAX_TEXT:
                raise InvalidInput(f"is longer than {MAX_TEXT} characters", field=arg.name)
            if arg.name == "version":
                try:
                    text = normalize_version(text)
                except ValueError as exc:
                    raise InvalidInput(str(exc), field="version", valid="2.5.0 or v2.5.0") from None
            values[arg.name] = text
        return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), self.body)


class PromptFileError(ValueError):
    """A prompt file is malformed. This is a packaging bug, so it is raised at load time."""


def _scalar(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def _boolean(value: str, where: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "yes"):
        return True
    if lowered in ("false", "no"):
        return False
    raise PromptFileError(f"{where}: expected true or false, got {value!r}")


def parse_prompt(text: str, source: str = "<prompt>") -> PromptDef:
    """Parse one prompt file. Raises PromptFileError naming the file and line."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        raise PromptFileError(f"{source}: must start with a '---' front matter line")
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == "---")
    except StopIteration:
        raise PromptFileError(f"{source}: front matter is not closed with '---'") from None

    top: dict[str, str] = {}
    raw_args: list[dict[str, str]] = []
    in_arguments = False
    for lineno in range(1, end):
        line = lines[lineno]
        where = f"{source}:{lineno + 1}"
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or key not in _TOP_KEYS:
                raise PromptFileError(f"{where}: expected one of {sorted(_TOP_KEYS)} as 'key: value'")
            if key in top or (key == "arguments" and in_arguments):
                raise PromptFileError(f"{where}: {key} given twice")
            in_arguments = key == "arguments"
            if in_arguments:
                if value.strip() not in ("", "[]"):
                    raise PromptFileError(f"{where}: arguments must be a list of '- name: ...' items")
                top[key] = ""
            else:
                top[key] = _scalar(value)
            continue
        if not in_arguments:
            raise PromptFileError(f"{where}: indented line outside 'arguments:'")
        item = line.strip()
        if item.startswith("- "):
            raw_args.append({})
            item = item[2:].strip()
        elif not raw_args:
            raise PromptFileError(f"{where}: an argument must start with '- '")
        key, sep, value = item.partition(":")
        key = key.strip()
        if not sep or key not in _ARG_KEYS:
            raise PromptFileError(f"{where}: expected one of {sorted(_ARG_KEYS)} as 'key: value'")
        if key in raw_args[-1]:
            raise PromptFileError(f"{where}: {key} given twice in one argument")
        raw_args[-1][key] = value

    for key in ("name", "title", "description"):
        if not top.get(key):
            raise PromptFileError(f"{source}: front matter needs a non-empty {key}")
    if not _NAME.match(top["name"]):
        raise PromptFileError(f"{source}: name {top['name']!r} must be snake_case")

    arguments: list[PromptArg] = []
    for i, raw in enumerate(raw_args):
        where = f"{source}: argument {i + 1}"
        name = _scalar(raw.get("name", ""))
        if not _NAME.match(name):
            raise PromptFileError(f"{where}: name {name!r} must be snake_case")
        if any(a.name == name for a in arguments):
            raise PromptFileError(f"{where}: {name} declared twice")
        description = _scalar(raw.get("description", ""))
        if not description:
            raise PromptFileError(f"{where}: {name} needs a description")
        required = _boolean(raw["required"], where) if "required" in raw else False
        default = _scalar(raw.get("default", ""))
        if required and default:
            raise PromptFileError(f"{where}: a required argument cannot have a default")
        arguments.append(PromptArg(name, description, required, default))

    body = "\n".join(lines[end + 1 :]).strip() + "\n"
    declared = {a.name for a in arguments}
    undeclared = sorted({m for m in _PLACEHOLDER.findall(body)} - declared)
    if undeclared:
        raise PromptFileError(f"{source}: body uses undeclared placeholders {undeclared}")
    return PromptDef(top["name"], top["title"], top["description"], arguments, body)


# The whole skill first, then its steps in order; prompts/list shows them in this order.
PROMPT_FILES: tuple[str, ...] = (
    "plan_release.md",
    "scope_release.md",
    "design_migration.md",
    "design_rollback.md",
    "plan_rollout.md",
    "write_runbook.md",
    "link_and_summarize.md",
    "run_gate_review.md",
)


def load_prompts() -> list[PromptDef]:
    """Every prompt shipped with the package, in skill order."""
    package = resources.files(__package__)
    prompts = [
        parse_prompt(package.joinpath(name).read_text(encoding="utf-8"), name) for name in PROMPT_FILES
    ]
    names = [p.name for p in prompts]
    if len(set(names)) != len(names):
        raise PromptFileError(f"prompt names repeat: {names}")
    return prompts
