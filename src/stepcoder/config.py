"""Dataclass <-> YAML <-> argparse machinery shared by every config (stdlib + yaml only).

A config is a dataclass whose fields are scalars, lists, Literals, Optionals or nested config
dataclasses (sections), each declared as ``field(default=..., metadata={"help": "..."})``
(the Hugging Face convention); every config must be constructible with no arguments.
Precedence: dataclass defaults < YAML file (``--config FILE``) < command-line flags
``--section.field VALUE``. Cross-field rules live in each dataclass's ``__post_init__``,
which runs once, on the merged values; nothing here ever changes a user's value.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import enum
import os
import tempfile
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

C = TypeVar("C")
_NONE_WORDS = ("none", "null", "~")
_TRUE_WORDS = ("true", "yes", "on", "1")
_FALSE_WORDS = ("false", "no", "off", "0")


class ConfigError(ValueError):
    """A config file or flag names an unknown key or holds a value of the wrong type."""


# --- coercion ----------------------------------------------------------------------------


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _type_name(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join("None" if a is type(None) else _type_name(a) for a in args)
    if origin in (list, tuple, Sequence):
        return f"list of {_type_name(args[0])}" if args else "list"
    return getattr(tp, "__name__", str(tp))


def _coerce(value: Any, tp: Any) -> Any:
    """``value`` converted to type ``tp``; raises ``TypeError`` when it cannot be (no guessing:
    a float is never truncated into an int, a number is never read as a string)."""
    if tp is Any:
        return value
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        # "none"/"null" is how a command line spells None for an Optional field.
        if value is None or (isinstance(value, str) and value.lower() in _NONE_WORDS):
            if type(None) in args:
                return None
        for arg in (a for a in args if a is not type(None)):
            try:
                return _coerce(value, arg)
            except TypeError:
                continue
        raise TypeError
    if origin is typing.Literal:
        for choice in args:
            if value == choice or (isinstance(value, str) and value == str(choice)):
                return choice
        raise TypeError
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise TypeError
        items = [_coerce(v, args[0]) if args else v for v in value]
        return tuple(items) if (origin or tp) is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise TypeError
        return dict(value)
    return _coerce_scalar(value, tp)


def _coerce_scalar(value: Any, tp: Any) -> Any:
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in _TRUE_WORDS + _FALSE_WORDS:
            return value.lower() in _TRUE_WORDS
        raise TypeError
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                number = _float_or_none(value)
                if number is not None and number.is_integer():
                    return int(number)
        raise TypeError
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # PyYAML reads `5e-7` (no dot) as a string: YAML 1.1 needs `5.0e-7` for a float.
        if isinstance(value, str) and _float_or_none(value) is not None:
            return float(value)
        raise TypeError
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError
    if tp is Path:
        if isinstance(value, (str, os.PathLike)):
            return Path(value)
        raise TypeError
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if value in (member, member.value, member.name):
                return member
        raise TypeError
    raise TypeError(f"unsupported config field type {tp!r}")


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


# --- dict <-> dataclass ------------------------------------------------------------------


def _field_types(cls: type) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def _unknown_key_message(key: str, known: list[str], section: str, source: str) -> str:
    where = f"section '{section}'" if section else "the top level"
    guess = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{guess[0]}'?)" if guess else ""
    return f"{source}: unknown key '{key}' in {where}{hint}; known keys: {', '.join(known)}"


def config_from_dict(cls: type[C], data: Mapping[str, Any], source: str = "<dict>", _section: str = "") -> C:
    """Build ``cls`` from a (nested) dict; missing keys take the dataclass defaults.

    Raises :class:`ConfigError` naming the source, the section and the key for an unknown
    key (with a "did you mean" guess) or a value that is not of the field's type; the
    dataclass's own ``__post_init__`` validation runs on the result.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: section '{_section or '<top level>'}' must be a mapping, got {data!r}")
    types_by_name = _field_types(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        path = f"{_section}.{key}" if _section else str(key)
        if key not in types_by_name:
            raise ConfigError(_unknown_key_message(str(key), list(types_by_name), _section, source))
        tp = types_by_name[key]
        if _is_dataclass_type(tp):
            kwargs[key] = config_from_dict(tp, value or {}, source, path)
            continue
        try:
            kwargs[key] = _coerce(value, tp)
        except TypeError:
            raise ConfigError(
                f"{source}: {path}: expected {_type_name(tp)}, got {value!r} ({type(value).__name__})"
            ) from None
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{source}: {_section or cls.__name__}: {exc}") from exc


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return value


def config_to_dict(obj: Any) -> dict[str, Any]:
    """Nested plain dict (lists, str, numbers, bools, None) of a config instance."""
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}


def save_yaml(obj: Any, path: str | os.PathLike) -> None:
    """Write ``obj`` as YAML (field order kept), atomically: a reader never sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = yaml.safe_dump(config_to_dict(obj), sort_keys=False, default_flow_style=False)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(text)
    os.replace(tmp.name, path)


def _read_yaml(path: str | os.PathLike) -> dict[str, Any]:
    """The top-level mapping of a YAML config. An empty or blank file is an error: a config
    that says nothing is far more often a mistake (a wrong or truncated file) than a wish for
    every default, which is what running without ``--config`` gives."""
    with open(path, encoding="utf-8") as fh:
        try:
            data = yaml.safe_load(fh)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f", line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    if data is None:
        raise ConfigError(f"{path}: the config file is empty (no key is set); omit --config for the defaults")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_yaml(cls: type[C], path: str | os.PathLike) -> C:
    """Read a YAML file into ``cls`` (missing keys take defaults)."""
    return config_from_dict(cls, _read_yaml(path), source=str(path))


# --- argparse ----------------------------------------------------------------------------


def _leaves(cls: type, prefix: str) -> typing.Iterator[tuple[str, dataclasses.Field, Any, Any, type]]:
    """(dotted name, field, type, default, owning dataclass) of every leaf field."""
    default_obj = cls()
    types_by_name = _field_types(cls)
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        tp, name = types_by_name[f.name], f"{prefix}{f.name}"
        if _is_dataclass_type(tp):
            yield from _leaves(tp, f"{name}.")
        else:
            yield name, f, tp, getattr(default_obj, f.name), cls


def _list_element_type(tp: Any) -> Any | None:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _list_element_type(inner[0]) if len(inner) == 1 else None
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        return args[0] if args else str
    return None


def _arg_type(tp: Any) -> typing.Callable[[str], Any]:
    """argparse ``type=``: the same coercion as YAML values, so errors read the same."""

    def convert(text: str) -> Any:
        try:
            return _coerce(text, tp)
        except TypeError:
            raise argparse.ArgumentTypeError(f"expected {_type_name(tp)}, got {text!r}") from None

    convert.__name__ = _type_name(tp)  # argparse names the type in its error message
    return convert


def add_config_arguments(parser: argparse.ArgumentParser, cls: type, prefix: str = "") -> None:
    """Add ``--config FILE`` (once) and a ``--{prefix}section.field VALUE`` flag per leaf field.

    Flags default to "not given" (``argparse.SUPPRESS``) so that :func:`parse_config` can
    tell an explicit flag from a default; the help text shows the dataclass default.
    Booleans take a value (``--x true`` / ``--x false``); lists take several values.
    """
    if not any("--config" in action.option_strings for action in parser._actions):
        parser.add_argument("--config", metavar="FILE", default=None, help="YAML config file (flags override it).")
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name, f, tp, default, owner in _leaves(cls, prefix):
        section = name.rpartition(".")[0] or cls.__name__
        if section not in groups:  # one --help group per section, described by its docstring
            groups[section] = parser.add_argument_group(section, (owner.__doc__ or "").strip() or None)
        group = groups[section]
        text = f.metadata.get("help", "").replace("%", "%%")
        shown = _plain(default)
        kwargs: dict[str, Any] = {
            "dest": name,
            "default": argparse.SUPPRESS,
            "help": f"{text} (default: {shown!r})",
        }
        element = _list_element_type(tp)
        if element is not None:
            kwargs.update(nargs="*", type=_arg_type(element), metavar=_type_name(element).upper())
        else:
            kwargs.update(type=_arg_type(tp), metavar=_metavar(tp))
        group.add_argument(f"--{name}", **kwargs)


class ConfigArgumentParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` that can generate a config's ``--section.field`` flags when it
    first parses rather than when it is built (:meth:`add_config_arguments_on_parse`), and
    then names the likely flag for a misspelt one.

    ``stepcoder``'s root parser is one, so every subcommand's parser is one too (argparse
    builds subparsers with the parent's class): a command whose config has hundreds of flags
    costs nothing until that command is the one parsed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deferred_config: type | None = None
        self._has_config_flags = False

    def add_config_arguments_on_parse(self, cls: type) -> None:
        """Add :func:`add_config_arguments` for ``cls`` when this parser first parses."""
        self._deferred_config = cls

    def parse_known_args(self, args=None, namespace=None):  # noqa: D102 (argparse's)
        if self._deferred_config is not None:
            cls, self._deferred_config = self._deferred_config, None
            add_config_arguments(self, cls)
            self._has_config_flags = True
        parsed, extras = super().parse_known_args(args, namespace)
        if self._has_config_flags:
            self._reject_misspelt_flags(extras)
        return parsed, extras

    def _reject_misspelt_flags(self, extras: list[str]) -> None:
        """An unknown ``--flag`` close to a known one is an error naming the likely flag
        (argparse alone says only "unrecognized arguments")."""
        known = [o for action in self._actions for o in action.option_strings if o.startswith("--")]
        for extra in extras:
            flag = extra.split("=", 1)[0]
            guess = difflib.get_close_matches(flag, known, n=1) if flag.startswith("--") else []
            if guess:
                # no usage dump: the generated config flags make it hundreds of lines long
                self.exit(2, f"{self.prog}: error: unknown option {flag} (did you mean {guess[0]}?)\n")


def _metavar(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _metavar(inner[0]) if len(inner) == 1 else "VALUE"
    if tp is bool:
        return "{true,false}"
    if origin is typing.Literal:
        return "{" + ",".join(str(a) for a in args) + "}"
    return _type_name(tp).upper()


def _set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *sections, leaf = dotted.split(".")
    for section in sections:
        node = tree.get(section)
        if not isinstance(node, dict):
            node = tree[section] = {}
        tree = node
    tree[leaf] = value


def parse_config(
    cls: type[C],
    args: argparse.Namespace | Sequence[str] | None = None,
    config_path: str | os.PathLike | None = None,
    prefix: str = "",
) -> C:
    """Resolve a config: defaults < YAML (``config_path`` or ``--config``) < explicit flags.

    ``args`` is a namespace from a parser set up with :func:`add_config_arguments`, or an
    argv list (a parser is built here). ``__post_init__`` runs once, on the merged values.
    """
    if args is None or not isinstance(args, argparse.Namespace):
        parser = argparse.ArgumentParser()
        add_config_arguments(parser, cls, prefix)
        args = parser.parse_args(list(args) if args is not None else None)
    config_path = config_path or getattr(args, "config", None)
    merged = _read_yaml(config_path) if config_path else {}
    given = vars(args)
    flags = []
    for name, *_ in _leaves(cls, prefix):
        if name in given:
            _set_path(merged, name[len(prefix) :], given[name])
            flags.append(f"--{name}")
    source = " + ".join(filter(None, [str(config_path or ""), "command line" if flags else ""])) or "<defaults>"
    return config_from_dict(cls, merged, source=source)
