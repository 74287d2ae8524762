"""Typed clients generated from the live server's OpenAPI document (API.md section 5).

The judges are the two generators app developers use, pinned in the test
requirements: openapi-python-client (requirements-test.txt) and
@hey-api/openapi-ts with typescript (tools/node/package.json). Each runs on the
document of a key scoped to partners and on the document of an all-models key:
no schema dropped or warned about, the TypeScript SDK compiles under
``tsc --strict``, and the generated code itself (no hand-written request)
searches, creates, reads as a typed model, updates and deletes a partner,
parses records whose fields are empty (Odoo's ``false``) and records whose
relations a nested read expanded, writes contacts as line objects (a nested
write; both API.md section 10), and sends a login
token with the key when given one.

Everything generated stays under .reports/clients/ for a developer to look at.
"""

import importlib
import inspect
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
import types
import typing

import pytest
import requests
from conftest import URL, call, loopback, uniq

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REPORTS = os.path.join(ROOT, ".reports", "clients")
NODE_BIN = os.path.join(ROOT, "tools", "node", "node_modules", ".bin")
VENV_BIN = os.path.dirname(sys.executable)
PARTNER = "res.partner"


def _norm(name):
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _pascal(text):
    return "".join(part[:1].upper() + part[1:] for part in re.findall(r"[A-Za-z0-9]+", str(text)))


def _user(admin, *groups):
    login = uniq("client")
    group_ids = [admin("ir.model.data", "check_object_reference", *g.split("."))[1] for g in groups]
    uid = admin("res.users", "create", {"name": login, "login": login, "password": "Pw-" + login,
                                         "groups_id": [(6, 0, group_ids)]})  # fmt: skip
    return types.SimpleNamespace(id=uid, login=login, password="Pw-" + login)


@pytest.fixture(scope="module")
def keys(admin, make_key):
    """A key scoped to partners (every operation) and countries (read), the all-models
    key, and a mobile app's key (needs a login token) with a user logged in under it."""

    def scope(model, **perms):
        model_id = admin("ir.model", "search", [("model", "=", model)])[0]
        return (0, 0, {"model_id": model_id, **perms})

    every = dict.fromkeys(("perm_read", "perm_create", "perm_write", "perm_delete"), True)
    scoped = make_key(
        all_models=False, scope_ids=[scope(PARTNER, **every), scope("res.country", perm_read=True)]
    )
    app = make_key(require_user_token=True)
    person = _user(admin, "base.group_user", "base.group_partner_manager")
    login = call("POST", "/api/auth/login", app["key"], source=loopback(),
                 json={"login": person.login, "password": person.password})  # fmt: skip
    assert login.status_code == 200, login.text
    return types.SimpleNamespace(scoped=scoped["key"], all=make_key()["key"], app=app["key"], person=person,
                                 token=login.json()["access_token"])  # fmt: skip


def _document(key, name):
    answer = requests.get(URL + "/api/openapi.json", headers={"api-key": key}, timeout=300)
    assert answer.status_code == 200, answer.text[:300]
    os.makedirs(REPORTS, exist_ok=True)
    path = os.path.join(REPORTS, f"openapi-{name}.json")
    with open(path, "w") as handle:
        handle.write(answer.text)
    return answer.json(), path


def _run(command, cwd, log, timeout=280):
    env = dict(os.environ, PATH=VENV_BIN + os.pathsep + os.environ.get("PATH", ""), NO_COLOR="1")
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    with open(log, "a") as handle:
        handle.write(f"$ {' '.join(command)}  (exit {proc.returncode})\n{proc.stdout}{proc.stderr}\n")
    return proc


# ------------------------------------------------------------------ openapi-python-client
def _generate_python(doc_path, name):
    """The generated package, imported, and what the generator said."""
    tool = os.path.join(VENV_BIN, "openapi-python-client")
    assert os.path.exists(tool), f"{tool} is missing: requirements-test.txt pins openapi-python-client"
    parent = os.path.join(REPORTS, f"python-{name}")
    shutil.rmtree(parent, ignore_errors=True)
    os.makedirs(parent)
    package = f"rest_api_client_{name.replace('-', '_')}"
    proc = _run([tool, "generate", "--path", doc_path, "--output-path", os.path.join(parent, package),
                 "--meta", "none"], parent, os.path.join(parent, "generate.log"))  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    dropped = re.findall(r"Unable to process schema (\S+)", output)
    assert not dropped, f"openapi-python-client dropped {len(dropped)} schemas: {dropped[:10]}"
    warned = re.findall(r"WARNING parsing (\w+ \S+)", output)
    assert not warned, f"openapi-python-client warned about {len(warned)} operations: {warned[:10]}"
    sys.path.insert(0, parent)
    try:
        return importlib.import_module(package)
    finally:
        sys.path.remove(parent)


def _operation_id(doc, path, method):
    return doc["paths"][path][method]["operationId"]


def _py_function(pkg, doc, path, method):
    wanted = _norm(_operation_id(doc, path, method))
    api = importlib.import_module(pkg.__name__ + ".api")
    for info in pkgutil.walk_packages(api.__path__, prefix=api.__name__ + "."):
        if not info.ispkg and _norm(info.name.rsplit(".", 1)[-1]) == wanted:
            return importlib.import_module(info.name)
    raise AssertionError(f"no generated function for {method.upper()} {path}")


def _py_model(pkg, doc, schema):
    models = importlib.import_module(pkg.__name__ + ".models")
    return getattr(models, _pascal(doc["components"]["schemas"][schema]["title"]))


def _py_body(module):
    hint = typing.get_type_hints(module.sync_detailed)["body"]
    return next(t for t in typing.get_args(hint) or (hint,) if inspect.isclass(t) and hasattr(t, "from_dict"))


def _python_crud(pkg, doc, key, admin):
    """Search, create, read, update and delete a partner with the generated code alone."""
    search = _py_function(pkg, doc, f"/api/{PARTNER}/search", "get")
    create = _py_function(pkg, doc, f"/api/{PARTNER}/create", "post")
    read = _py_function(pkg, doc, f"/api/{PARTNER}/{{id}}", "get")
    update = _py_function(pkg, doc, f"/api/{PARTNER}/{{id}}", "put")
    delete = _py_function(pkg, doc, f"/api/{PARTNER}/{{id}}", "delete")
    record = _py_model(pkg, doc, PARTNER)
    client = pkg.client.AuthenticatedClient(base_url=URL, token=key, auth_header_name="api-key", prefix="")

    found = search.sync_detailed(client=client, limit=3, fields="id,name,email")
    assert found.status_code == 200 and found.parsed, found.content[:300]
    assert all(isinstance(row, record) and isinstance(row.id, int) for row in found.parsed)

    name = uniq("Py client")
    # tz: False, written as the typed empty value (a user's own time zone is otherwise its default)
    body = _py_body(create)(name=name, email="py@example.com", tz=False)
    created = create.sync_detailed(client=client, body=body)
    assert created.status_code == 201, created.content[:300]
    new_id = created.parsed.id
    try:
        got = read.sync_detailed(new_id, client=client, fields="id,name,email,tz,parent_id,title")
        assert got.status_code == 200 and isinstance(got.parsed, record), got.content[:300]
        assert (got.parsed.id, got.parsed.name, got.parsed.email) == (new_id, name, "py@example.com")
        # Odoo's empty values: a selection, a many2one, a many2one again, typed as false
        assert (got.parsed.tz, got.parsed.parent_id, got.parsed.title) == (False, False, False)
        _python_nested_read(pkg, client, create, read, new_id, name)
        changed = update.sync_detailed(new_id, client=client, body=_py_body(update)(email="new@example.com"))
        assert changed.status_code == 200 and changed.parsed.id == new_id, changed.content[:300]
        again = read.sync_detailed(new_id, client=client, fields="email")
        assert again.parsed.email == "new@example.com"
        _python_nested_writes(pkg, update, client, new_id, admin)
        gone = delete.sync_detailed(new_id, client=client)
        assert gone.status_code == 200, gone.content[:300]
        assert read.sync_detailed(new_id, client=client).status_code == 404
    finally:
        if admin(PARTNER, "search", [("id", "=", new_id)]):
            admin(PARTNER, "unlink", [new_id])


def _python_nested_read(pkg, client, create, read, parent_id, name):
    """A contact of the partner, read with its relations expanded and not: typed either way."""
    kid = create.sync_detailed(client=client, body=_py_body(create)(name=name + " kid", parent_id=parent_id))
    assert kid.status_code == 201, kid.content[:300]
    kid_id = kid.parsed.id
    try:
        expanded = importlib.import_module(pkg.__name__ + ".models").ExpandedRecord
        got = read.sync_detailed(parent_id, client=client, fields="id,name,child_ids{name,parent_id{name}}")
        assert got.status_code == 200, got.content[:300]
        (line,) = got.parsed.child_ids
        assert isinstance(line, expanded) and (line.id, line["name"]) == (kid_id, name + " kid")
        assert line["parent_id"] == {"id": parent_id, "name": name}
        up = read.sync_detailed(kid_id, client=client, fields="parent_id{name}").parsed.parent_id
        assert isinstance(up, expanded) and (up.id, up["name"]) == (parent_id, name)
        plain = read.sync_detailed(kid_id, client=client, fields="parent_id,child_ids").parsed
        assert (plain.parent_id, plain.child_ids) == ([parent_id, name], [])
    finally:
        client.get_httpx_client().delete(f"/api/{PARTNER}/{kid_id}")


def _python_nested_writes(pkg, update, client, partner_id, admin):
    """A contact added as a line object and a country as {"id"} (API.md section 10), then the
    contact deleted as {"id", "_delete": true}, with the generated classes."""
    models = importlib.import_module(pkg.__name__ + ".models")
    kid = models.X2ManyLine()
    kid["name"] = uniq("Py kid")
    country = admin("res.country", "search", [("code", "=", "BE")])[0]
    body = _py_body(update)(child_ids=[kid], country_id=models.RecordRef(id=country))
    assert update.sync_detailed(partner_id, client=client, body=body).status_code == 200
    written = admin(PARTNER, "read", [partner_id], ["child_ids", "country_id"])[0]
    assert len(written["child_ids"]) == 1 and written["country_id"][0] == country
    gone = models.X2ManyLine(id=written["child_ids"][0], field_delete=True)
    changed = update.sync_detailed(partner_id, client=client, body=_py_body(update)(child_ids=[gone]))
    assert changed.status_code == 200, changed.content[:300]
    assert not admin(PARTNER, "search", [("id", "=", written["child_ids"][0])])


@pytest.fixture(scope="module")
def scoped_python(keys):
    doc, path = _document(keys.scoped, "scoped")
    return doc, _generate_python(path, "scoped")


def test_python_client_of_a_scoped_key(keys, admin, scoped_python):
    doc, pkg = scoped_python
    assert set(doc["components"]["schemas"]) >= {PARTNER, f"{PARTNER}-create", "res.country"}
    _python_crud(pkg, doc, keys.scoped, admin)
    # the create body's required fields are required by the generated class too
    required = set(doc["components"]["schemas"][f"{PARTNER}-create"].get("required", []))
    init = inspect.signature(_py_model(pkg, doc, f"{PARTNER}-create")).parameters
    assert required == {n for n, p in init.items() if p.default is inspect.Parameter.empty}


def test_python_client_of_the_all_models_document(keys, admin):
    doc, path = _document(keys.all, "all-models")
    assert len(doc["components"]["schemas"]) > 200  # every model the admin reaches
    pkg = _generate_python(path, "all-models")
    _python_crud(pkg, doc, keys.all, admin)
    # a selection whose values only differ by punctuation (GMT+0, GMT-0, GMT0) is one enum
    tz = _py_model(pkg, doc, PARTNER).from_dict({"id": 1, "tz": "Etc/GMT-0"}).tz
    assert tz == "Etc/GMT-0" and type(tz).__name__ != "str"


def test_python_client_sends_the_key_and_a_login_token(keys, admin, scoped_python):
    """A key that needs a user's token: the generated client with the key as its token and the
    login token as a header acts as the token's user."""
    doc, pkg = scoped_python
    search = _py_function(pkg, doc, f"/api/{PARTNER}/search", "get")
    create = _py_function(pkg, doc, f"/api/{PARTNER}/create", "post")
    bare = pkg.client.AuthenticatedClient(base_url=URL, token=keys.app, auth_header_name="api-key", prefix="")
    assert search.sync_detailed(client=bare, limit=1).status_code == 401  # the key alone reaches nothing
    client = bare.with_headers({"token": keys.token})
    made = create.sync_detailed(client=client, body=_py_body(create)(name=uniq("Py token")))
    assert made.status_code == 201, made.content[:300]
    assert admin(PARTNER, "read", [made.parsed.id], ["create_uid"])[0]["create_uid"][0] == keys.person.id
    admin(PARTNER, "unlink", [made.parsed.id])


# ------------------------------------------------------------------ @hey-api/openapi-ts + tsc
TSCONFIG = {
    "compilerOptions": {
        "target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
        "lib": ["ES2022", "DOM", "DOM.Iterable"], "types": [], "strict": True, "outDir": "dist",
    },
    "include": ["sdk/**/*.ts", "*.ts"],
}  # fmt: skip

# The SDK's own functions and types; the key alone is given as `auth` (a string), which the SDK
# offers to every security scheme of the operation.
PROGRAM = r"""import { createClient } from './sdk/client/index.js';
import { createResPartner, deleteResPartner, readResPartner, searchResPartner, updateResPartner }
  from './sdk/sdk.gen.js';
import type { ExpandedRecord, ResPartner, ResPartnerCreate } from './sdk/types.gen.js';

declare const process: { argv: string[]; exitCode?: number };
const [baseUrl, apiKey, appKey, token, name] = process.argv.slice(2);

async function main(): Promise<void> {
  const client = createClient({ baseUrl, auth: apiKey });
  const found = await searchResPartner({ client, query: { limit: 2, fields: 'id,name,email' } });
  const rows: ResPartner[] = found.data ?? [];
  const body: ResPartnerCreate = { name, email: 'ts@example.com', tz: false };
  const created = await createResPartner({ client, body });
  const made = created.data;
  const id = made && !Array.isArray(made) && 'id' in made ? made.id : 0;
  const read = await readResPartner({ client, path: { id }, query: { fields: 'id,name,email,tz,parent_id,title' } });
  const record: ResPartner | undefined = read.data;
  // a nested read (API.md section 10): the contact as an ExpandedRecord, its parent too
  const kid = await createResPartner({ client, body: { name: name + ' kid', parent_id: id } });
  const kidId = kid.data && !Array.isArray(kid.data) && 'id' in kid.data ? kid.data.id : 0;
  const nested = await readResPartner({ client, path: { id }, query: { fields: 'id,child_ids{name,parent_id{name}}' } });
  const first = nested.data?.child_ids?.[0];
  const line: ExpandedRecord | undefined = typeof first === 'object' ? first : undefined;
  const up = await readResPartner({ client, path: { id: kidId }, query: { fields: 'parent_id{name}' } });
  const parent = up.data?.parent_id;
  const parentId = parent && !Array.isArray(parent) ? parent.id : null;
  await deleteResPartner({ client, path: { id: kidId } });
  // a nested write (API.md section 10): a contact added as a line object, then removed as {id, _delete}
  const updated = await updateResPartner({ client, path: { id }, body: { email: 'new@example.com', child_ids: [{ name: name + ' line' }] } });
  const again = await readResPartner({ client, path: { id }, query: { fields: 'email,child_ids' } });
  const lines = (again.data?.child_ids ?? []).map((kid) => ({ id: typeof kid === 'number' ? kid : kid.id, _delete: true as const }));
  const removed = await updateResPartner({ client, path: { id }, body: { child_ids: lines } });
  const after = await readResPartner({ client, path: { id }, query: { fields: 'child_ids' } });
  const deleted = await deleteResPartner({ client, path: { id } });
  const gone = await readResPartner({ client, path: { id } });
  // a mobile app's key and a user's login token: the SDK asks for each scheme by name
  const app = createClient({ baseUrl, auth: (scheme) => (scheme.name === 'api-key' ? appKey : token) });
  const alone = createClient({ baseUrl, auth: appKey });
  const asUser = await createResPartner({ client: app, body: { name: name + ' (token)' } });
  const withoutToken = await searchResPartner({ client: alone, query: { limit: 1 } });
  const tz: ResPartner['tz'] = record?.tz;
  console.log(JSON.stringify({
    search: [found.response.status, rows.map((row) => row.id)],
    create: [created.response.status, id],
    read: [read.response.status, record?.id, record?.name, record?.email],
    empty: [tz, record?.parent_id, record?.title],
    nested: [line?.id === kidId, line?.name, parentId === id],
    update: [updated.response.status, again.data?.email],
    kids: [again.data?.child_ids?.length, removed.response.status, after.data?.child_ids?.length],
    delete: [deleted.response.status, deleted.data?.message, gone.response.status],
    token: [asUser.response.status, asUser.data && 'id' in asUser.data ? asUser.data.id : null],
    key_alone: withoutToken.response.status,
  }));
}

main().catch((err: unknown) => {
  console.log(JSON.stringify({ crash: String(err) }));
  process.exitCode = 1;
});
"""


def _typescript(doc_path, name):
    """The SDK generated, compiled with the program above by tsc --strict: the build folder."""
    work = os.path.join(REPORTS, f"ts-{name}")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    log = os.path.join(work, "build.log")
    for tool in ("openapi-ts", "tsc"):
        assert os.path.exists(os.path.join(NODE_BIN, tool)), (
            f"{tool} is missing: run `npm ci --prefix tools/node`"
        )
    with open(os.path.join(work, "package.json"), "w") as handle:
        json.dump({"name": f"rest-api-client-{name}", "private": True, "type": "module"}, handle)
    with open(os.path.join(work, "tsconfig.json"), "w") as handle:
        json.dump(TSCONFIG, handle)
    with open(os.path.join(work, "openapi-ts.config.mjs"), "w") as handle:
        # tsConfigPath: the SDK then imports with '.js' extensions, as NodeNext wants (absolute paths)
        output = {"path": os.path.join(work, "sdk"), "tsConfigPath": os.path.join(work, "tsconfig.json")}
        config = {"input": doc_path, "output": output,
                  "plugins": ["@hey-api/typescript", "@hey-api/sdk", "@hey-api/client-fetch"]}  # fmt: skip
        handle.write(f"export default {json.dumps(config)};\n")
    with open(os.path.join(work, "program.ts"), "w") as handle:
        handle.write(PROGRAM)
    proc = _run([os.path.join(NODE_BIN, "openapi-ts"), "-f", "openapi-ts.config.mjs"], work, log)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    proc = _run([os.path.join(NODE_BIN, "tsc"), "-p", "tsconfig.json", "--strict"], work, log)
    assert proc.returncode == 0, proc.stdout[-4000:]
    return os.path.join(work, "dist")


@pytest.mark.parametrize("which", ["scoped", "all"])
def test_typescript_sdk_compiles_and_runs(keys, admin, which):
    key = getattr(keys, which)
    _doc, path = _document(key, f"{which}-ts")
    dist = _typescript(path, which)
    name = uniq("TS client")
    node = shutil.which("node")
    assert node, "node is needed to run the compiled TypeScript"
    proc = subprocess.run([node, os.path.join(dist, "program.js"), URL, key, keys.app, keys.token, name],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    made = [i for i in (out.get("create", [0, 0])[1], (out.get("token") or [0, 0])[1]) if i]
    try:
        assert "crash" not in out, out
        assert out["search"][0] == 200 and out["search"][1], out
        assert out["create"][0] == 201 and out["read"] == [200, out["create"][1], name, "ts@example.com"], out
        assert out["empty"] == [False, False, False], out
        assert out["nested"] == [True, name + " kid", True], out
        assert out["update"] == [200, "new@example.com"], out
        assert out["kids"] == [1, 200, 0], out  # added as a line object, deleted as {id, _delete}
        assert out["delete"] == [200, "Record deleted successfully.", 404], out
        assert out["token"][0] == 201 and out["key_alone"] == 401, out
        owner = admin(PARTNER, "read", [out["token"][1]], ["create_uid"])[0]["create_uid"][0]
        assert owner == keys.person.id  # the token was sent, and the call ran as its user
    finally:
        if made:
            admin(PARTNER, "unlink", admin(PARTNER, "search", [("id", "in", made)]))
