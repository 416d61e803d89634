"""Named presets (``profiles/*.yaml``) written into ``params.yaml``, which stays the one record of
what runs.

``python -m pipeline.profiles NAME`` first resets every key that any profile sets to the value in
``profiles/default.yaml`` and then applies ``profiles/NAME.yaml``, so switching profiles never
leaves a previous profile's values behind. Comments and layout of ``params.yaml`` are kept
(ruamel.yaml round trip), the result is validated before it is written, and ``profile:`` records
the preset's name. Then ``dvc repro`` (or ``dvc exp run``) runs it; ``dvc status`` lists the stages
that the change makes stale.
"""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from pipeline.config import ArchConfig, Config, ConfigError, parse_config, parse_yaml
from pipeline.errors import MissingInputError, one_line_errors
from pipeline.io import read_text_file, write_text

PROFILES_DIR = Path(__file__).resolve().parents[1] / "profiles"


def available() -> list[str]:
    return sorted(path.stem for path in PROFILES_DIR.glob("*.yaml"))


def read_profile(name: str) -> dict[str, Any]:
    """Profile ``name`` as a nested dict, an architecture preset's name written out as its fields."""
    path = PROFILES_DIR / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"unknown profile {name!r}; available: {', '.join(available())}")
    return expand_arch_preset(parse_yaml(path.read_text(encoding="utf-8"), str(path)) or {}, str(path))


def expand_arch_preset(tree: dict[str, Any], source: str) -> dict[str, Any]:
    """``tree`` with ``model.arch: NAME`` replaced by the fields of preset NAME (``ARCH_PRESETS``), so
    what lands in params.yaml lists every field; ``tree`` is changed in place and returned."""
    model = tree.get("model")
    if isinstance(model, dict) and isinstance(model.get("arch"), str):
        try:
            model["arch"] = ArchConfig.from_name(model["arch"]).model_dump()
        except ValueError as exc:
            raise ConfigError(f"{source}: model.arch: {exc}") from None
    return tree


def _leaf_keys(tree: dict, prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        path = f"{prefix}{key}"
        keys |= _leaf_keys(value, f"{path}.") if isinstance(value, dict) else {path}
    return keys


def _text_width(value: Any) -> int:
    """Characters ``value`` takes on its line in params.yaml (scalars plain, lists in flow style)."""
    if isinstance(value, (list, tuple)):
        return len("[]") + sum(map(_text_width, value)) + len(", ") * max(len(value) - 1, 0)
    if isinstance(value, dict):
        return len("{}") + sum(len(f"{key}: ") + _text_width(item) for key, item in value.items()) + len(", ") * max(
            len(value) - 1, 0)
    if value is None or isinstance(value, bool):
        return len({None: "null", True: "true", False: "false"}[value])
    return len(str(value))


def _keep_comment_gap(target: CommentedMap, key: str, old: Any, new: Any) -> None:
    """Shift the end-of-line comment of ``key`` by the change in the value's width, so the gap before
    ``#`` is kept: switching to a profile and back then gives params.yaml back byte for byte (ruamel
    alone keeps the column, which moves for good once a longer value pushes the comment right)."""
    comment = target.ca.items.get(key, [None, None, None])[2]
    if comment is not None and getattr(comment, "start_mark", None) is not None:
        comment.column = comment.column + _text_width(new) - _text_width(old)


def _overlay(target: CommentedMap, values: dict) -> None:
    """Set ``values`` into ``target`` leaf by leaf, keeping comments; lists stay in flow style."""
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            if not target[key].fa.flow_style():
                _overlay(target[key], value)
                continue
            # a one-line mapping (glue.max_len): set whole, so its end-of-line comment keeps its gap
            old = dict(target[key])
            if {**old, **value} == old:
                continue
            _keep_comment_gap(target, key, old, {**old, **value})
            flow = CommentedMap({**old, **value})
            flow.fa.set_flow_style()
            target[key] = flow
            continue
        if target.get(key) == value:
            continue  # unchanged: keep the original text and its comment alignment
        _keep_comment_gap(target, key, target.get(key), value)
        if isinstance(value, list):
            seq = CommentedSeq(value)
            seq.fa.set_flow_style()
            target[key] = seq
        else:
            target[key] = value


def parse_overrides(assignments: list[str]) -> dict[str, Any]:
    """``["train.seeds=[0]", "train.precision=bf16"]`` -> nested dict (values parsed as YAML)."""
    nested: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE (e.g. train.seeds=[0]), got {assignment!r}")
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = parse_yaml(text, f"--set {key}")
    return nested


def apply_profile(name: str, params_path: Path, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Rewrite ``params_path`` with profile ``name`` and then ``overrides`` (what ``--set`` gives);
    return the new params as a plain dict."""
    default, profile = read_profile("default"), read_profile(name)
    stray = _leaf_keys(profile) - _leaf_keys(default)
    if stray:
        raise ConfigError(f"profile {name!r} sets {sorted(stray)}, which profiles/default.yaml does not reset; "
                          f"add them there so switching profiles cannot leave them behind")
    round_trip = YAML()
    round_trip.preserve_quotes = True
    round_trip.width = 4096  # never re-wrap long paths
    round_trip.representer.add_representer(
        type(None), lambda rep, _: rep.represent_scalar("tag:yaml.org,2002:null", "null"))
    if not params_path.is_file():
        raise MissingInputError(f"--params {params_path} not found: run from the project root (where params.yaml "
                                f"is) or pass the path of a params file")
    params = round_trip.load(read_text_file(params_path))
    _overlay(params, default)
    _overlay(params, profile)
    _overlay(params, expand_arch_preset(overrides or {}, "--set"))
    _overlay(params, {"profile": name})
    buffer = io.StringIO()
    round_trip.dump(params, buffer)
    text = buffer.getvalue()
    plain = parse_yaml(text, str(params_path))
    parse_config(plain, source=f"{params_path} with profile {name!r}")  # never write an invalid file
    write_text(params_path, text)
    return plain


# How a run is executed, not what it computes: never part of "the recipe".
EXECUTION_KEYS = frozenset({"train.seeds", "train.eval_tokens", "train.epoch_eval_tokens", "train.threads",
                            "train.device", "train.precision", "train.compile", "train.processes", "train.log_every",
                            "train.checkpoint_every"})
# Where paper-code and paper-code-fixed differ: the notebook's two bugs.
VARIANT_PREFIXES = ("model.init_std", "model.baseline.", "model.quant", "model.scale", "model.act_bits",
                    "model.attention", "model.positions")


def _flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def recipe_values(profile: str) -> dict[str, Any]:
    """Every key ``profile`` fixes (profiles/default.yaml overlaid by the profile), dotted."""
    return _flatten(read_profile("default")) | _flatten(read_profile(profile))


def recipe_mismatches(cfg: Config) -> dict[str, list[str]]:
    """Keys where ``cfg`` departs from the notebook's recipe: ``training`` (train.* and model.arch.*,
    execution keys aside), and the full ``paper-code`` / ``paper-code-fixed`` variants (plus model keys)."""
    ours = _flatten(cfg.model_dump(mode="json"))

    def differing(profile: str, keep) -> list[str]:
        wanted = recipe_values(profile)
        return sorted(key for key, value in wanted.items()
                      if keep(key) and key not in EXECUTION_KEYS and _normal(ours.get(key)) != _normal(value))

    training = lambda key: key.startswith(("train.", "model.arch."))  # noqa: E731
    variant = lambda key: training(key) or key.startswith(VARIANT_PREFIXES)  # noqa: E731
    return {"training": differing("paper-code", training), "paper-code": differing("paper-code", variant),
            "paper-code-fixed": differing("paper-code-fixed", variant)}


def _normal(value: Any) -> Any:
    return [_normal(v) for v in value] if isinstance(value, (list, tuple)) else value


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write a named profile into params.yaml.")
    parser.add_argument("name", nargs="?", help=f"one of: {', '.join(available())}")
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override one key after the profile, e.g. --set train.seeds=[0] (repeatable); "
                             "keys that profiles/default.yaml lists are reset by the next profile switch, "
                             "others stay until changed")
    parser.add_argument("--list", action="store_true", help="list the profiles and exit")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        for name in available():
            first = (PROFILES_DIR / f"{name}.yaml").read_text(encoding="utf-8").splitlines()[0].lstrip("# ")
            print(f"{name:12s} {first}")
        return
    with one_line_errors():
        apply_profile(args.name, args.params, parse_overrides(args.set))
    print(f"{args.params} now holds profile {args.name!r}; run `dvc status` to see what will re-run, "
          f"then `dvc repro` or `dvc exp run`.")


if __name__ == "__main__":
    main()
