"""The costly request bodies of benchmarks/request_bounds.py, each under 1 MB (Django-free).

Generic bodies come from an operation's request schema in the OpenAPI document (deep nesting,
wide objects, one key repeated, every field at its largest, random bytes, a form of many
fields); specific ones are metric batches, trace files and the like, each built to be the most
work its endpoint can be asked for.
"""

from __future__ import annotations

import json
import os
import random
from datetime import UTC, datetime, timedelta

BODY_BYTES = 1_000_000  # "under 1 MB": every body here is shorter
SLACK = 2_048  # room for the fields around a filler
INT_DIGITS = 4_000  # under Python's 4,300-digit limit on int(str), so the JSON still parses
MANY_PARTS = {f"f{i}": "1" for i in range(12_000)}  # multipart fields, under 1 MB in all
TINY_TRACE = b"timestamp,value\n2026-11-01T00:00:00Z,1\n"


def resolve(schema: dict, spec: dict) -> dict:
    """`schema` with its `$ref` (and a one-branch `oneOf`) followed."""
    while "$ref" in schema or "oneOf" in schema:
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        else:
            schema = schema["oneOf"][0]
    return schema


def properties(operation: dict, spec: dict) -> dict[str, dict]:
    """The JSON request body's properties of an OpenAPI operation ({} when it has none)."""
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return {}
    schema = resolve(content["application/json"]["schema"], spec)
    return {name: resolve(p, spec) for name, p in schema.get("properties", {}).items()}


def generic_bodies(props: dict[str, dict]) -> dict[str, tuple[bytes, str]]:
    """The schema-driven bodies every write endpoint gets: label -> (body, content type)."""
    first = next(iter(props), "x")
    json_type = "application/json"
    bodies = {
        "1 MB of nesting in a field": (deep(first), json_type),
        "80k unknown keys": (wide(), json_type),
        "one key repeated to 1 MB": (repeated(first), json_type),
        "every field at its largest": (largest(props), json_type),
        "1 MB of random bytes as JSON": (random_bytes(), json_type),
        "form of 100k fields": (many_fields(first), "application/x-www-form-urlencoded"),
    }
    assert all(len(body) < BODY_BYTES for body, _ in bodies.values())
    return bodies


def deep(field: str) -> bytes:
    """`{"field": [[[...]]]}`, as deep as 1 MB allows."""
    depth = (BODY_BYTES - SLACK) // 2
    return f'{{"{field}": '.encode() + b"[" * depth + b"]" * depth + b"}"


def wide() -> bytes:
    """An object of distinct keys nobody asked for."""
    keys, size, parts = 0, 2, []
    while size < BODY_BYTES - SLACK:
        part = f'"k{keys}":0'
        parts.append(part)
        size += len(part) + 1
        keys += 1
    return ("{" + ",".join(parts) + "}").encode()


def repeated(field: str) -> bytes:
    """The same key over and over (JSON keeps the last)."""
    part = f'"{field}":1,'
    count = (BODY_BYTES - SLACK) // len(part)
    return ("{" + part * count + f'"{field}":1}}').encode()


def largest(props: dict[str, dict]) -> bytes:
    """Every field at its largest: strings share 1 MB, integers of 4,000 digits, and so on."""
    strings = [n for n, p in props.items() if p.get("type", "string") == "string"]
    share = (BODY_BYTES - 64 * SLACK) // max(len(strings), 1)
    parts = []
    for name, prop in props.items():
        kind = prop.get("type", "string")
        if kind == "integer":
            value = "9" * INT_DIGITS
        elif kind == "number":
            value = "1" + "0" * INT_DIGITS + ".5e300"  # parses, as infinity
        elif kind == "boolean":
            value = "true"
        elif kind == "array":
            value = "[" + ",".join(["1"] * 20_000) + "]"
        elif kind == "object":
            value = json.dumps({f"k{i}": i for i in range(10_000)})
        else:
            value = json.dumps("7" * share)
        parts.append(f'"{name}":{value}')
    body = ("{" + ",".join(parts) + "}").encode()
    return body if len(body) < BODY_BYTES else body[: BODY_BYTES - 1]


def random_bytes() -> bytes:
    """Random bytes, just under 1 MB."""
    return os.urandom(BODY_BYTES - SLACK)


def many_fields(field: str) -> bytes:
    """`field=1&field=1&...`, urlencoded, to 1 MB."""
    part = f"{field}=1&"
    return (part * ((BODY_BYTES - SLACK) // len(part))).encode()


def metric_batch(
    count: int, *, end: datetime, last: str | None = None, series: str = "bench_seconds"
) -> bytes:
    """`count` one-second points ending at `end`, compactly written; `last` replaces the final ts.

    Values are 15-digit numbers, so that parsing does the most a value can ask.
    """
    start = end - timedelta(seconds=count)
    points = [
        f'{{"ts":"{(start + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ")}",'
        f'"value":{123456789012.5 - k:.1f}}}'
        for k in range(count)
    ]
    if last is not None:
        points[-1] = f'{{"ts":"{last}","value":1}}'
    return (f'{{"series":"{series}","points":[' + ",".join(points) + "]}").encode()


def points_under(limit_bytes: int, *, end: datetime) -> int:
    """The most points a `metric_batch` holds under `limit_bytes`."""
    one_point = len(metric_batch(2, end=end)) - len(metric_batch(1, end=end))
    return (limit_bytes - SLACK) // one_point


def trace_rows(*, start: datetime, step_s: int, size: int, first: str = "") -> bytes:
    """A `timestamp,value` CSV of rows `step_s` apart from `start`, to `size` bytes.

    `first` adds a row before them (an edge date).
    """
    lines = ["timestamp,value"] + ([f"{first},1"] if first else [])
    total, k = sum(len(line) + 1 for line in lines), 0
    while True:
        line = f"{(start + timedelta(seconds=k * step_s)).strftime('%Y-%m-%dT%H:%M:%SZ')},{k % 997}"
        if total + len(line) + 1 > size:
            break
        lines.append(line)
        total += len(line) + 1
        k += 1
    return ("\n".join(lines) + "\n").encode()


def trace_with_long_value(size: int) -> bytes:
    """One row whose value is a single number of nearly `size` digits."""
    digits = size - SLACK
    return f"timestamp,value\n2026-11-01T00:00:00Z,{'9' * digits}\n".encode()


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """(body, content type) of a multipart/form-data request."""
    boundary = f"bench{random.Random(0).getrandbits(64):x}"
    out = bytearray()
    for name, value in fields.items():
        out += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        out += value.encode() + b"\r\n"
    for name, (filename, content) in files.items():
        out += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        out += content + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={boundary}"


def traces(end) -> dict[str, bytes]:
    """Trace files under 1 MB: the largest valid one, dates at the edges, a long number, bytes."""
    size = BODY_BYTES - 4 * SLACK
    return {
        "one-second rows, ending now": trace_rows(
            start=end - timedelta(hours=12), step_s=1, size=size
        ),
        "1970-01-01 then one-second rows in 2099": trace_rows(
            start=end.replace(year=2099, month=12, day=31, hour=0),
            step_s=1,
            size=size,
            first="1970-01-01T00:00:00Z",
        ),
        "one-second rows, last in 2099": trace_rows(
            start=end.replace(year=2099, month=12, day=31, hour=0), step_s=1, size=size
        ),
        "a value of 990k digits": trace_with_long_value(size),
        "1 MB of random bytes": random_bytes()[:size],
    }


def big_problem(workload_id: int) -> bytes:
    """The shipped large example with its demand stretched to 1 MB of intervals."""
    from optimization.__main__ import generate_problem_by_name
    from optimization.problem import problem_to_dict

    problem = problem_to_dict(generate_problem_by_name("large-24x40x3"))
    rps = [list(level) * 1_500 for level in problem["demand"]["rps"]]
    problem["demand"]["rps"] = [level[:28_000] for level in rps]
    body = {
        "workload": workload_id,
        "problem": problem,
        "method": "gapso",
        "seed": 2**63 - 1,
        "with_pareto": True,
    }
    return json.dumps(body, separators=(",", ":")).encode()


def now_minute() -> datetime:
    """This minute, in UTC."""
    return datetime.now(UTC).replace(second=0, microsecond=0)
