"""What a Python app gets from openapi-python-client, checked with .venv-gen's python after
tests/spec-generators/run.sh generated the client: every operation parses every JSON answer the spec
documents (the generator leaves out, with a warning, a response it cannot type), every error
schema is a model pinning its code(s), ids are strings, and a mocked round trip through the
generated client returns the typed models.

Usage: check.py <spec> <directory holding the generated package> <package name>
"""

import contextlib
import importlib
import inspect
import json
import pkgutil
import re
import sys
import typing

import httpx
from ruamel.yaml import YAML

spec_path, generated, package_name = sys.argv[1:4]
with open(spec_path, encoding="utf-8") as file:
    spec = YAML(typ="safe").load(file)
sys.path.insert(0, generated)
package = importlib.import_module(package_name)
models = importlib.import_module(f"{package_name}.models")
problems = []


@contextlib.contextmanager
def checking(what):
    """Records an exception in a check as a problem instead of stopping the others."""
    try:
        yield
    except Exception as error:  # noqa: BLE001 - any failure is a finding
        problems.append(f"{what}: {type(error).__name__}: {error}")


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resolve(node):
    while isinstance(node, dict) and "$ref" in node:
        *_, kind, name = node["$ref"].split("/")
        node = spec["components"][kind][name]
    return node


# 1. Every operation: a module whose response parser handles each documented JSON answer.
modules = {}
for info in pkgutil.walk_packages(importlib.import_module(f"{package_name}.api").__path__, f"{package_name}.api."):
    modules[info.name.rsplit(".", 1)[-1]] = info.name
operations = statuses = 0
for path, item in spec["paths"].items():
    for method, operation in item.items():
        if not isinstance(operation, dict) or "operationId" not in operation:
            continue
        operations += 1
        name = snake(operation["operationId"])
        if name not in modules:
            problems.append(f"{method.upper()} {path}: no module {name} in {package_name}.api")
            continue
        source = inspect.getsource(importlib.import_module(modules[name])._parse_response)
        for status, response in operation["responses"].items():
            if "application/json" not in (resolve(response).get("content") or {}):
                continue
            statuses += 1
            if f"response.status_code == {status}:" not in source:
                problems.append(f"{method.upper()} {path}: the generated client does not parse its {status}")

# 2. Every schema an error response names (itself or in its `oneOf`): a model that takes its own
#    code(s) and refuses any other, so a Python app can branch on the type.
all_codes = spec["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
error_schemas = {}
for response_name, response in spec["components"]["responses"].items():
    schema = ((response.get("content") or {}).get("application/json") or {}).get("schema")
    for ref in schema.get("oneOf", [schema]) if schema else []:
        error_schemas.setdefault(ref.get("$ref", f"(inline in {response_name})").rsplit("/", 1)[-1], response_name)
error_models = 0
for name, response_name in error_schemas.items():
    schema = spec["components"]["schemas"].get(name, {})
    codes = ((schema.get("properties") or {}).get("error") or {}).get("enum")
    if not codes or name == "Error":
        problems.append(f"response {response_name}: its schema {name} does not pin `error` with an enum of its own")
        continue
    error_models += 1
    model = getattr(models, name, None)
    if model is None:
        problems.append(f"no model {name} for the error schema {name}")
        continue
    extra = {
        field: (schema["properties"][field].get("enum") or ["x"])[0]
        for field in schema.get("required", [])
        if field not in ("error", "message")
    }
    for code in codes:
        body = {"error": code, "message": "m", **extra}
        with checking(f"{name} taking {body}"):
            if model.from_dict(body).to_dict() != body:
                problems.append(f"{name}: {body} does not round-trip ({model.from_dict(body).to_dict()})")
    for code in set(all_codes) - set(codes):
        try:
            model.from_dict({"error": code, "message": "m", **extra})
            problems.append(f"{name} takes the code {code}, which is not its own")
        except ValueError:
            pass


# 3. Field types a Python app relies on: ids are str (TikTok's exceed 2^53), lists are typed.
def hint(model, field):
    # Models refer to each other under TYPE_CHECKING only: resolve their names in `models`.
    return typing.get_type_hints(getattr(models, model), localns=vars(models))[field]


expected = {
    ("Account", "open_id"): str,
    ("Video", "id"): str,
    ("PublishView", "publish_id"): str,
    ("PublishView", "post_ids"): list[str],
    ("AccountList", "accounts"): list[models.Account],
    ("ScopeMissingError", "scope"): str,
}
for (model, field), wanted in expected.items():
    with checking(f"{model}.{field}"):
        if hint(model, field) != wanted:
            problems.append(f"{model}.{field} is typed {hint(model, field)}, not {wanted}")

# 4. A round trip through the generated client, its HTTP answered by a mock: a 200 and errors.
answers = {
    ("GET", "/tiktok/accounts", "ok"): (
        200,
        {
            "accounts": [
                {
                    "open_id": "open-alice-0001",
                    "display_name": "Alice",
                    "avatar_url": None,
                    "scopes": ["user.info.basic"],
                    "status": "active",
                    "access_token_expires_at": 1,
                    "refresh_token_expires_at": 2,
                    "connected_at": 0,
                }
            ]
        },
    ),
    ("GET", "/tiktok/accounts", "unauthorized"): (
        401,
        {"error": "unauthorized", "message": "a valid app JWT is required"},
    ),
    ("POST", "/tiktok/publish", "refused"): (
        403,
        {"error": "spam_risk_too_many_posts", "message": "m", "limit_of": "account"},
    ),
    ("POST", "/tiktok/publish", "scope"): (403, {"error": "scope_missing", "message": "m", "scope": "video.publish"}),
}
answers_by_scenario = {scenario: status for (_, _, scenario), (status, _) in answers.items()}
scenario = "ok"


def answer(request):
    status, body = answers[(request.method, request.url.path, scenario)]
    return httpx.Response(status, content=json.dumps(body), headers={"Content-Type": "application/json"})


client = package.AuthenticatedClient(
    base_url="http://api.test", token="jwt", httpx_args={"transport": httpx.MockTransport(answer)}
)
# (scenario, module, the model the answer must parse into, what must hold of it)
round_trips = [
    ("ok", "list_accounts", "AccountList", lambda parsed: parsed.accounts[0].open_id == "open-alice-0001"),
    ("unauthorized", "list_accounts", "UnauthorizedError", lambda parsed: parsed.error == "unauthorized"),
    ("refused", "start_publish", "AccountPostingLimitError", lambda parsed: parsed.limit_of == "account"),
    ("scope", "start_publish", "ScopeMissingError", lambda parsed: parsed.scope == "video.publish"),
]
post = {
    "mode": "direct",
    "source": {"type": "url", "video_url": "https://media.example.com/a.mp4"},
    "post_info": {"privacy_level": "SELF_ONLY"},
}
for scenario, module, model, holds in round_trips:
    with checking(f"{module} answering {answers_by_scenario[scenario]}"):
        operation = importlib.import_module(modules[module])
        if module == "start_publish":
            parsed = operation.sync(client=client, body=models.DirectPublishRequest.from_dict(post))
        else:
            parsed = operation.sync(client=client)
        if not isinstance(parsed, getattr(models, model)) or not holds(parsed):
            problems.append(f"{module} answering {answers_by_scenario[scenario]} parsed as {parsed!r}, not {model}")

print(
    f"spec-generators: {operations} operations, {statuses} documented JSON answers, {error_models} error models, "
    f"{len(expected)} field types, {len(round_trips)} mocked round trips"
)
if problems:
    print("spec-generators: the generated Python client is missing what the spec says:")
    for problem in problems:
        print(f"  {problem}")
    sys.exit(1)
