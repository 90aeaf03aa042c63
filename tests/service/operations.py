"""Operations built from the schema rather than written by hand: for any root field, the
smallest valid operation (its required arguments filled with plausible values, variables
for every argument given, ``__typename`` as the selection), so that a test can walk every
field and put one value of its choosing into one argument. Used by the injection and the
isolation tests."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

import graphql

from connectomedb.service.permissions import names_dataset
from connectomedb.service.schema import schema_sdl

#: a value for an argument: (field name, argument name, its named type) -> value
Plausible = Callable[[str, str, graphql.GraphQLNamedType], Any]


@cache
def schema() -> graphql.GraphQLSchema:
    return graphql.build_schema(schema_sdl())


def roots() -> Iterator[tuple[str, str, graphql.GraphQLField]]:
    """(operation kind, name, field) of every root field."""
    s = schema()
    for kind, t in (("query", s.query_type), ("mutation", s.mutation_type)):
        assert t is not None
        for name, f in t.fields.items():
            yield kind, name, f


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def dataset_arguments(f: graphql.GraphQLField) -> list[str]:
    """The arguments of a field that name a dataset, by the rule the server checks them by
    (:func:`connectomedb.service.permissions.names_dataset` on the Python name)."""
    return [a for a in f.args if names_dataset(snake(a))]


def required(arg: graphql.GraphQLArgument | graphql.GraphQLInputField) -> bool:
    """Non-null without a default (a schema built from SDL keeps defaults in the AST)."""
    has_default = arg.ast_node is not None and arg.ast_node.default_value is not None
    return graphql.is_non_null_type(arg.type) and not has_default


def fill(field: str, name: str, t: graphql.GraphQLInputType, plausible: Plausible) -> Any:
    """A value of type ``t`` for argument (or input field) ``name``: lists of one, input
    objects with their required fields, enums their first value, scalars ``plausible``."""
    t = graphql.get_nullable_type(t)  # type: ignore[assignment]
    if isinstance(t, graphql.GraphQLList):
        return [fill(field, name, t.of_type, plausible)]
    if isinstance(t, graphql.GraphQLInputObjectType):
        return {k: fill(field, k, f.type, plausible) for k, f in t.fields.items() if required(f)}
    if isinstance(t, graphql.GraphQLEnumType):
        return next(iter(t.values))
    assert isinstance(t, graphql.GraphQLScalarType)
    return plausible(field, name, t)


@dataclass(frozen=True)
class Operation:
    kind: str
    field: str
    text: str
    variables: dict[str, Any]


def operation(
    kind: str,
    name: str,
    f: graphql.GraphQLField,
    plausible: Plausible,
    given: dict[str, Any] | None = None,
) -> Operation:
    """The smallest valid operation on root field ``name``: every required argument from
    ``plausible``, those in ``given`` as given (optional ones included)."""
    given = given or {}
    values = {
        a: given[a] if a in given else fill(name, a, arg.type, plausible)
        for a, arg in f.args.items()
        if a in given or required(arg)
    }
    defs = ", ".join(f"${a}: {f.args[a].type}" for a in values)
    args = ", ".join(f"{a}: ${a}" for a in values)
    returned = graphql.get_named_type(f.type)
    selection = "" if graphql.is_leaf_type(returned) else " { __typename }"
    text = (
        f"{kind}{f' ({defs})' if defs else ''} {{ {name}{f'({args})' if args else ''}{selection} }}"
    )
    return Operation(kind, name, text, values)


def aliased(
    kind: str,
    name: str,
    f: graphql.GraphQLField,
    plausible: Plausible,
    argument: str,
    values: list[Any],
    given: dict[str, Any] | None = None,
) -> Operation:
    """One operation asking field ``name`` once per value of ``argument`` (aliases ``a0``,
    ``a1``, ...), the other arguments as :func:`operation` fills them (or ``given``)."""
    one = operation(kind, name, f, plausible, {**(given or {}), argument: values[0]})
    shared = {a: v for a, v in one.variables.items() if a != argument}
    variables = {**shared, **{f"{argument}{i}": v for i, v in enumerate(values)}}
    defs = [f"${a}: {f.args[a].type}" for a in shared]
    defs += [f"${argument}{i}: {f.args[argument].type}" for i in range(len(values))]
    selection = "" if graphql.is_leaf_type(graphql.get_named_type(f.type)) else " { __typename }"
    asks = []
    for i in range(len(values)):
        args = ", ".join([f"{a}: ${a}" for a in shared] + [f"{argument}: ${argument}{i}"])
        asks.append(f"a{i}: {name}({args}){selection}")
    return Operation(kind, name, f"{kind} ({', '.join(defs)}) {{ {' '.join(asks)} }}", variables)


def string_arguments(
    f: graphql.GraphQLField,
) -> Iterator[tuple[str, Callable[[Any], Any]]]:
    """Every place in a field's arguments that takes a string (String or ID, in lists and
    input objects too) or JSON: (a path such as ``filter.type``, a function that makes the
    argument's value with the place set to a given value)."""

    def places(
        t: graphql.GraphQLInputType, path: str, seen: frozenset[str]
    ) -> Iterator[tuple[str, Callable[[Any], Any]]]:
        t = graphql.get_nullable_type(t)  # type: ignore[assignment]
        if isinstance(t, graphql.GraphQLList):
            for p, make in places(t.of_type, path + "[]", seen):
                yield p, partial(in_list, make)
        elif isinstance(t, graphql.GraphQLInputObjectType):
            if t.name in seen:
                return
            for k, sub in t.fields.items():
                for p, make in places(sub.type, f"{path}.{k}", seen | {t.name}):
                    yield p, partial(in_object, k, make)
        elif isinstance(t, graphql.GraphQLScalarType) and t.name in ("String", "ID", "JSON"):
            yield path, json_places if t.name == "JSON" else as_is
        return

    for a, arg in f.args.items():
        yield from places(arg.type, a, frozenset())


def as_is(v: Any) -> Any:
    return v


def in_list(make: Callable[[Any], Any], v: Any) -> list[Any]:
    return [make(v)]


def in_object(key: str, make: Callable[[Any], Any], v: Any) -> dict[str, Any]:
    return {key: make(v)}


def json_places(v: Any) -> Any:
    """A JSON argument with a string in a key, a value and a nested list."""
    return {"seed": v, v: 1, "filter": {"type": [v]}}


_counter = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def plausible_values(cast: Any) -> Plausible:
    """Values that name real things of a ``bench/fuzz.py`` Cast: datasets are the public
    one, neurons, labs, users, jobs and tokens exist, texts parse; new users and labs get
    fresh ids of the cast (removed with it)."""
    n = cast.neurons
    by_name: dict[str, Any] = {
        "neuron": n[0],
        "source": n[0],
        "target": n[1],
        "pre": n[0],
        "post": n[1],
        "lab": cast.home_lab,
        "user": cast.users["editor"],
        "measurements": "m0",
        "motif": "A -> B",
        "cron": "0 3 * * *",
        "key": "note",
        "value": "x",
        "queue": cast.queue,
        "name": "x",
    }
    by_id = {
        "job": cast.jobs[0],
        "cancelJob": cast.jobs[0],
        "modelRun": "r0",
        "lab": cast.home_lab,
        "dataset": cast.public,
        "neuron": n[0],
        "revokeApiToken": cast.spare_tokens[0],
    }

    def value(field: str, name: str, t: graphql.GraphQLNamedType) -> Any:
        scalar = {"JSON": {}, "Int": 1, "Float": 0.05, "Boolean": False}
        if t.name in scalar:
            return scalar[t.name]
        if names_dataset(snake(name)):
            return cast.public
        if name == "id" and field in ("createUser", "createLab"):
            return f"{unique('t_fuzz_new')}_{cast.tag}"
        if name == "id":
            return by_id.get(field, "x")
        return by_name.get(name, "x")

    return value
