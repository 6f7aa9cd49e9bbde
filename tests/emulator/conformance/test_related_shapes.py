"""The new answers against Zoho's documented samples: activities, notes, related records and their
metadata, a multi-select picklist, a subform, COQL lookups followed across modules.

Samples: Tasks API post https://help.zoho.com/portal/en/community/topic/kaizen-36-tasks-api and the
Tasks response structure https://zoho.com/crm/developer/docs/api/v2/tasks-response.html (What_Id
{"name","id"} + $se_module, Who_Id {"name","id"}); create-notes
https://www.zoho.com/crm/developer/docs/api/create-notes.html (Parent_Id {"module": {"api_name",
"id"}, "id"}); related-list-meta https://zoho.com/crm/developer/docs/api/v8/related-list-meta.html;
get related records (data + info {per_page, count, page, more_records}, 204 when empty); COQL joins
https://www.zoho.com/crm/developer/docs/api/v8/COQL-Joins.html and limits
https://zoho.com/crm/developer/docs/api/v8/COQL-Limitations.html.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests

STR, INT, BOOL = str, int, bool
NULLABLE = object()


def check_shape(value: Any, shape: Any, path: str = "$") -> list[str]:
    """Problems of ``value`` against ``shape``: a type, a dict of key -> shape, [shape] for a list,
    (shape, NULLABLE) for a value that may be null."""
    if isinstance(shape, tuple) and NULLABLE in shape:
        return [] if value is None else check_shape(value, shape[0], path)
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return [f"{path}: expected an object, got {type(value).__name__}"]
        out = [f"{path}.{k}: missing" for k in shape if k not in value]
        for k, sub in shape.items():
            if k in value:
                out += check_shape(value[k], sub, f"{path}.{k}")
        return out
    if isinstance(shape, list):
        if not isinstance(value, list):
            return [f"{path}: expected an array, got {type(value).__name__}"]
        return [p for i, v in enumerate(value) for p in check_shape(v, shape[0], f"{path}[{i}]")]
    if not isinstance(value, shape) or (shape is INT and isinstance(value, bool)):
        return [f"{path}: expected {shape.__name__}, got {type(value).__name__}"]
    return []


REF = {"name": STR, "id": STR}
INFO = {"per_page": INT, "count": INT, "page": INT, "more_records": BOOL}


@pytest.fixture
def get(fresh_emulator, access_token):
    with requests.Session() as s:
        s.headers["Authorization"] = f"Zoho-oauthtoken {access_token}"

        def call(path: str, **params: Any) -> requests.Response:
            return s.get(fresh_emulator.url + "/crm/v8" + path, params=params, timeout=30)

        yield call


def _first(get, module: str, fields: str, pred=lambda r: True) -> dict:
    rows = get(f"/{module}", fields=fields, per_page=200).json()["data"]
    return next(r for r in rows if pred(r))


def test_activities_link_their_parent_as_zoho_sends_it(get):
    for module, title in (("Tasks", "Subject"), ("Events", "Event_Title"), ("Calls", "Subject")):
        row = _first(get, module, f"{title},What_Id,Who_Id", lambda r: r["Who_Id"] is not None)
        assert check_shape(row, {"id": STR, title: STR, "What_Id": REF, "$se_module": STR, "Who_Id": REF}) == []
        assert row["$se_module"] in ("Accounts", "Deals")
        parent = get(f"/{row['$se_module']}/{row['What_Id']['id']}").json()["data"][0]
        assert parent["id"] == row["What_Id"]["id"]


def test_a_note_names_its_parent_module_inside_parent_id(get):
    row = _first(get, "Notes", "Note_Title,Note_Content,Parent_Id")
    shape = {"Note_Title": STR, "Note_Content": STR, "Parent_Id": {"module": {"api_name": STR, "id": STR}, "id": STR}}
    assert check_shape(row, shape) == []
    module = row["Parent_Id"]["module"]["api_name"]
    modules = {m["api_name"]: m["id"] for m in get("/settings/modules").json()["modules"]}
    assert row["Parent_Id"]["module"]["id"] == modules[module]


def test_what_id_is_described_as_a_lookup_over_several_modules(get):
    fields = {f["api_name"]: f for f in get("/settings/fields", module="Tasks").json()["fields"]}
    what = fields["What_Id"]
    assert what["data_type"] == "lookup" and what["json_type"] == "jsonobject"
    assert {m["api_name"] for m in what["multi_module_lookup"]["modules"]} >= {"Accounts", "Deals"}
    assert fields["Who_Id"]["lookup"]["module"]["api_name"] == "Contacts"


def test_related_records_answer_pages_and_204(get):
    deal = _first(get, "Deals", "Account_Name", lambda r: r["Account_Name"] is not None)
    acc = deal["Account_Name"]["id"]
    r = get(f"/Accounts/{acc}/Deals", fields="Deal_Name,Stage,Account_Name", per_page=1)
    assert r.status_code == 200
    body = r.json()
    assert check_shape(body, {"data": [{"id": STR, "Deal_Name": STR, "Account_Name": REF}], "info": INFO}) == []
    assert body["info"]["per_page"] == 1 and all(d["Account_Name"]["id"] == acc for d in body["data"])
    # an account with no notes at all answers 204, no body
    accounts = get("/Accounts", fields="Account_Name", per_page=200).json()["data"]
    noted = {n["Parent_Id"]["id"] for n in get("/Notes", fields="Parent_Id", per_page=200).json()["data"]}
    quiet = next(a["id"] for a in accounts if a["id"] not in noted)
    empty = get(f"/Accounts/{quiet}/Notes", fields="Note_Title")
    assert (empty.status_code, empty.content) in ((204, b""),) or empty.json()["data"]


def test_related_records_refuse_what_zoho_refuses(get):
    acc = get("/Accounts", fields="Account_Name", per_page=1).json()["data"][0]["id"]
    missing = get(f"/Accounts/{acc}/Contacts")
    assert missing.status_code == 400 and missing.json()["code"] == "REQUIRED_PARAM_MISSING"
    unknown = get(f"/Accounts/{acc}/Nonsense", fields="id")
    assert unknown.status_code == 400 and unknown.json()["code"] == "INVALID_DATA"
    big = get(f"/Accounts/{acc}/Contacts", fields="Last_Name", per_page=201)
    assert big.status_code == 400 and big.json()["details"]["param_name"] == "per_page"


def test_related_list_metadata_has_zoho_keys_and_hrefs(get):
    body = get("/settings/related_lists", module="Accounts").json()
    item = {
        "id": STR,
        "sequence_number": STR,
        "display_label": STR,
        "api_name": STR,
        "module": ({"api_name": STR, "id": STR}, NULLABLE),
        "href": STR,
        "type": STR,
        "visible": BOOL,
    }
    assert check_shape(body, {"related_lists": [item]}) == []
    names = {i["api_name"]: i for i in body["related_lists"]}
    assert {"Contacts", "Deals", "Notes", "Tasks", "Events", "Calls", "Activities", "Activities_History"} <= set(names)
    assert names["Notes"]["href"] == "Accounts/{ENTITYID}/Notes"
    assert get("/settings/related_lists").json()["code"] == "REQUIRED_PARAM_MISSING"


def test_multi_select_and_subform_come_typed_as_zoho_sends_them(get):
    deal = _first(get, "Deals", "Competitors,Line_Items", lambda r: r["Competitors"] and r["Line_Items"])
    assert check_shape(deal["Competitors"], [STR]) == []
    row = {"id": STR, "Product": STR, "Quantity": INT, "Unit_Price": float, "Parent_Id": REF}
    assert check_shape(deal["Line_Items"], [row]) == []
    assert all(item["Parent_Id"]["id"] == deal["id"] for item in deal["Line_Items"])
    fields = {f["api_name"]: f for f in get("/settings/fields", module="Deals").json()["fields"]}
    assert (fields["Competitors"]["json_type"], fields["Line_Items"]["json_type"]) == ("jsonarray", "jsonarray")
    assert fields["Line_Items"]["data_type"] == "subform"


def test_coql_follows_lookups_across_modules_within_the_join_limit(get, fresh_emulator, access_token):
    def coql(q: str) -> requests.Response:
        return requests.post(
            fresh_emulator.url + "/crm/v8/coql",
            json={"select_query": q},
            headers={"Authorization": f"Zoho-oauthtoken {access_token}"},
            timeout=30,
        )

    r = coql("select Deal_Name, Amount, Account_Name.Industry from Deals where Amount > 1000 limit 5")
    assert r.status_code == 200
    rows = r.json()["data"]
    assert rows and all("Account_Name.Industry" in row for row in rows)
    users = ("Owner", "Created_By", "Modified_By")
    paths = [*users, "Account_Name", "Contact_Name"]  # each lookup followed is one join
    paths += [f"{via}.{u}" for via in ("Account_Name", "Contact_Name") for u in users]
    paths += ["Account_Name.Parent_Account", "Contact_Name.Account_Name", "Account_Name.Parent_Account.Owner"]
    paths += ["Account_Name.Parent_Account.Created_By", "Contact_Name.Account_Name.Owner"]
    fields = [f"{p}.email" if p.split(".")[-1] in users else f"{p}.Phone" for p in paths]
    ok = coql(f"select {', '.join(fields[:-1])} from Deals where Amount > 0 limit 1")  # 15 joins
    assert ok.status_code == 200, ok.json()
    too_many = coql(f"select {', '.join(fields)} from Deals where Amount > 0 limit 1")  # 16 joins
    assert too_many.status_code == 400 and too_many.json()["code"] == "LIMIT_EXCEEDED"
