"""An external agent's day with tutti, through the official MCP Python SDK.

Run by `tests/mcp.rs` against a running `tutti serve`, once over Streamable
HTTP (`/mcp`) and once over stdio (`tutti mcp`). The agent (Codex) lists its
work, reads the brief, claims it (Devin, another agent, is refused), reports
progress, submits, is sent back with feedback by the lead (a person, through
the REST API), claims the next iteration, submits again and is accepted. It
asks for a decision its space lets it only prepare, and tries what it may
not do. Prints one JSON object with what it saw.
"""

import asyncio
import contextlib
import json
import os
import sys

import httpx
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

URL = os.environ["TUTTI_URL"]
MODE = sys.argv[1]


@contextlib.asynccontextmanager
async def session(token):
    """An initialised MCP session as the member behind `token`."""
    if MODE == "http":
        async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
            async with streamable_http_client(f"{URL}/mcp", http_client=http) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    yield s
    else:
        params = StdioServerParameters(
            command=os.environ["TUTTI_BIN"],
            args=["mcp"],
            env={"TUTTI_TOKEN": token, "TUTTI_SERVER": URL, "PATH": os.environ.get("PATH", "")},
        )
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as s:
                await s.initialize()
                yield s


async def call(s, tool, arguments):
    """A tool's answer: (is_error, JSON or text)."""
    result = await s.call_tool(tool, arguments)
    text = result.content[0].text
    try:
        return result.is_error, json.loads(text)
    except ValueError:
        return result.is_error, text


def rest(method, path, token, body=None):
    """A person's call of the REST API."""
    response = httpx.request(
        method, f"{URL}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, json=body
    )
    return response.status_code, response.json() if response.content else None


async def main():
    codex, devin, lead = os.environ["CODEX"], os.environ["DEVIN"], os.environ["LEAD"]
    item, others, space = os.environ["ITEM"], os.environ["OTHERS_ITEM"], os.environ["SPACE"]
    seen = {}
    async with session(codex) as s, session(devin) as d:
        seen["tools"] = sorted(t.name for t in (await s.list_tools()).tools)
        _, me = await call(s, "get_me", {})
        seen["me"] = me["name"]
        _, work = await call(s, "list_my_work", {})
        seen["work"] = [(w["item"]["id"], w["run"]["status"]) for w in work]
        _, brief = await call(s, "get_work_item", {"work_item_id": item})
        seen["order"] = brief["run"]["work_order"]

        _, claim = await call(s, "claim_work", {"work_item_id": item})
        run = claim["run"]["id"]
        seen["claimed"] = claim["run"]["status"]
        seen["devin_claims"] = await call(d, "claim_work", {"work_item_id": item})
        seen["claimed_twice"] = await call(s, "claim_work", {"work_item_id": item})
        seen["progress"] = (await call(s, "report_progress", {"run_id": run, "note": "Kundendaten geprüft."}))[0]
        seen["bad_argument"] = await call(s, "submit_result", {"run_id": "not-a-run", "text": "x"})
        seen["submitted"] = (await call(s, "submit_result", {"run_id": run, "text": "Angebot nachgefasst: Rückruf am Freitag."}))[1]["status"]

        status, reviewed = rest("POST", f"/runs/{run}/review", lead,
                                {"verdict": "revise", "rating": 3, "feedback": "Bitte mit Uhrzeit."})
        seen["revised"] = (status, reviewed["next_run"]["iteration"])
        _, again = await call(s, "claim_work", {})
        seen["second_order_has_feedback"] = "Bitte mit Uhrzeit." in again["run"]["work_order"]
        second = again["run"]["id"]
        await call(s, "submit_result", {"run_id": second, "text": "Rückruf am Freitag, 10 Uhr.",
                                         "links": ["https://crm.example/angebot/17"]})
        seen["accepted"] = rest("POST", f"/runs/{second}/review", lead, {"verdict": "accept", "rating": 5})[0]
        seen["item_state"] = rest("GET", f"/work-items/{item}", lead)[1]["state"]

        # A decision its space lets it only prepare: it waits for people.
        _, decision = await call(s, "ask_decision", {
            "space_id": space, "question": "Rabatt von 12 % auf das Angebot für Familie Hoffmann?",
            "options": ["12 % Rabatt", "Kein Rabatt"],
            "facts": {"amount": "4800.00", "risk": "low", "reversible": True, "customer_facing": False},
            "proposal": {"option": "12 % Rabatt", "rationale": "Stammkundin seit 2019.", "confidence": 0.7},
        })
        seen["decision_routing"] = decision["routing"]
        seen["decision_status"] = decision["status"]
        _, fetched = await call(s, "get_decision", {"decision_id": decision["id"]})
        seen["decision_later"] = fetched["status"]
        seen["budget"] = (await call(s, "get_budget", {}))[0]
        seen["objectives"] = (await call(s, "list_objectives", {}))[0]

        # Beyond its token: no tool for it, and the API refuses it as well.
        seen["approve_tool"] = await call(s, "approve_decision", {"decision_id": decision["id"]})
        seen["approve_api"] = rest("POST", f"/decisions/{decision['id']}/approve", codex,
                                   {"option": "12 % Rabatt", "reason": "passt"})[0]
        seen["edit_space_api"] = rest("PATCH", f"/decision-spaces/{space}", codex, {"quorum": 1})[0]
        seen["reassign_api"] = rest("PATCH", f"/work-items/{others}", codex, {"assignee_id": me["id"]})[0]
        seen["check_in_elsewhere"] = (await call(s, "check_in", {
            "key_result_id": os.environ["KEY_RESULT"], "value": 70, "confidence": 7}))[0]
    print(json.dumps(seen))


asyncio.run(main())
