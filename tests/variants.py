"""The variant matrix, read from copier.yml so that a new choice is tested without editing tests."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_ROOT = Path(__file__).resolve().parent.parent
COPIER_YML = TEMPLATE_ROOT / "copier.yml"
# Questions that choose the interpreter rather than the code: covered by
# their own test on the default variant instead of multiplying the matrix.
NOT_IN_MATRIX = frozenset({"python_version"})


@cache
def questions() -> dict[str, dict[str, Any]]:
    """Every question of copier.yml (settings, which start with "_", left out)."""
    config = yaml.safe_load(COPIER_YML.read_text(encoding="utf-8"))
    return {name: spec for name, spec in config.items() if not name.startswith("_")}


def choice_values(spec: Mapping[str, Any]) -> list[Any]:
    """The values a choice question offers (list or label: value mapping)."""
    choices = spec["choices"]
    if isinstance(choices, Mapping):
        values = []
        for value in choices.values():
            # Copier allows {label: {value: ..., validator: ...}}
            values.append(value["value"] if isinstance(value, Mapping) else value)
        return values
    return [choice["value"] if isinstance(choice, Mapping) else choice for choice in choices]


def defaults() -> dict[str, Any]:
    """The answers `copier copy --defaults` gives to the matrix questions."""
    return {name: questions()[name]["default"] for name in matrix_axes()}


@cache
def matrix_axes() -> dict[str, list[Any]]:
    """Each choice or boolean question and the values it can take."""
    axes: dict[str, list[Any]] = {}
    for name, spec in questions().items():
        if name in NOT_IN_MATRIX:
            continue
        if "choices" in spec:
            axes[name] = choice_values(spec)
        elif spec.get("type") == "bool":
            axes[name] = [True, False]
    return axes


@dataclass(frozen=True)
class Variant:
    answers: tuple[tuple[str, Any], ...]

    @property
    def data(self) -> dict[str, Any]:
        return dict(self.answers)

    @property
    def id(self) -> str:
        parts = []
        for name, value in self.answers:
            if isinstance(value, bool):
                parts.append(name if value else f"no_{name}")
            else:
                parts.append(str(value))
        return "-".join(parts)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]


def full_matrix() -> list[Variant]:
    axes = matrix_axes()
    names = list(axes)
    return [Variant(tuple(zip(names, combo, strict=True))) for combo in itertools.product(*axes.values())]


def fast_matrix() -> list[Variant]:
    """The defaults, plus each other value of each question once (for quick local runs)."""
    base = defaults()
    picked: list[Variant] = [Variant(tuple(base.items()))]
    for name, values in matrix_axes().items():
        for value in values:
            if value != base[name]:
                picked.append(Variant(tuple({**base, name: value}.items())))
    return picked


def selected_matrix() -> list[Variant]:
    """`TEMPLATE_TEST_MATRIX=fast` for a quick local run; the full product otherwise (CI)."""
    mode = os.environ.get("TEMPLATE_TEST_MATRIX", "full")
    if mode == "fast":
        return fast_matrix()
    if mode != "full":
        raise ValueError(f"TEMPLATE_TEST_MATRIX must be 'full' or 'fast', not {mode!r}")
    return full_matrix()


def iter_ids(variants: list[Variant]) -> Iterator[str]:
    return (variant.id for variant in variants)


# The rendered tests that start child processes (marker `processes`: uvicorn replicas, concurrent
# `migrate`, the CLI in a fresh interpreter) cost up to 45 s a variant. Their results turn on the
# database above all; so they run in every database, where these answers are at their defaults
# (the hashing and the scopes do not reach what they test) ...
PROCESS_TESTS_IRRELEVANT = ("password_hashing", "use_scopes")
# ... and, of the other answers, in a pairwise-covering set per database: for any two of these
# axes, every pair of their values meets in a variant that runs them (with each database). For
# yes/no and two-valued axes, the combinations whose value indices sum to an even number do it:
# 4 of the 8 for three axes.
PROCESS_TESTS_PAIRWISE = ("jwt_library", "jwt_algorithm", "refresh_tokens")


def runs_process_tests(variant: Variant) -> bool:
    """Whether ``variant`` runs its `processes` tests (see PROCESS_TESTS_IRRELEVANT and _PAIRWISE)."""
    base = defaults()
    if any(variant.data.get(name, base.get(name)) != base.get(name) for name in PROCESS_TESTS_IRRELEVANT):
        return False
    axes = matrix_axes()
    indices = [axes[name].index(variant.data.get(name, base.get(name))) for name in PROCESS_TESTS_PAIRWISE]
    return sum(indices) % 2 == sum(axes[name].index(base[name]) for name in PROCESS_TESTS_PAIRWISE) % 2
