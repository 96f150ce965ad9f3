#!/usr/bin/env python3
"""Drives crisp-gateway's MCP front (`/mcp`, streamable HTTP) with the official MCP Python SDK
(`mcp`), a client this project did not write, a crisp-sandbox binary as the gateway's upstream.

    python crisp-gateway/tests/sdk/gateway_mcp.py target/debug/crisp-gateway target/debug/crisp-sandbox

`.ci/run` installs the SDK (pinned) into .venv-mcp/ and runs this, beside the Node client step
that drives `/v1`. A policy of two agents with fresh keys; the gateway started on it, forwarding
to the sandbox as it would to Crisp. It checks:

- the start-up line names `mcp_url`; without a key (or with a wrong one) `/mcp` answers 401 with
  `WWW-Authenticate: Bearer resource_metadata="..."`, whose URL serves the protected-resource
  metadata (RFC 9728) naming `/mcp`;
- with the assistant's key: initialize, then exactly the tools its grants allow (from the spec's
  x-crisp-scope and x-crisp-access, not from the gateway), each with an output schema;
- list_conversations answers what the sandbox answers directly, one upstream request;
- a website outside the agent's list is refused (code `website`, 403 `not_allowed`), nothing sent;
- send_message: a preview and a token, nothing sent; with the token, sent exactly once;
- a tool outside its grants is refused (`not_granted`), nothing sent;
- an agent that may only propose messages (`approve = ["send_message"]`): its send_message takes
  no confirmation token and answers a result (not an error) with the approval id and the
  request it would send, nothing sent; its `approval_status` tool (listed for it only) says
  `pending`; the SDK checks both results against the tools' output schemas;
- the other agent, on both fronts at once: on `/v1` with HTTP Basic its read works and a write
  is 403; with its key on `/mcp` it sees only its read tools;
- after SIGINT, `crisp-gateway audit --json` has one row per tool call and per REST request,
  with the agent, the front (`mcp` with the SDK's client name, or `rest`) and the decision; no
  key (Crisp's or an agent's) is in the audit, the gateway's stdout or its stderr.
"""

import asyncio
import base64
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import httpx2
import yaml
from mcp import ClientSession, types
from mcp.client.streamable_http import streamable_http_client

ASSISTANT = "website:conversation:sessions=read, website:conversation:messages=read-write"
READER = "website:conversation:sessions=read"
ELSEWHERE = "1b9e0c47-0000-4000-8000-00000000abcd"
CLIENT = "python-sdk-test"
TEXT = "Through the gateway's MCP front (Python SDK test)"

checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def allowed_by_spec(grants):
    """operationIds the grants allow, in the spec's order, from the spec itself."""
    levels = {}
    for entry in grants.split(","):
        scope, level = (part.strip() for part in entry.split("="))
        levels[scope] = level
    with open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "spec", "crisp.yaml")) as f:
        spec = yaml.safe_load(f)
    allowed = []
    for item in spec["paths"].values():
        for op in item.values():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            level = levels.get(op["x-crisp-scope"])
            if level == "read-write" or level == op["x-crisp-access"]:
                allowed.append(op["operationId"])
    return allowed


def start(binary, args, env):
    """Starts a binary (its stderr kept in `process.errlog`); returns it and the JSON line it
    prints first."""
    errlog = tempfile.TemporaryFile(mode="w+")
    process = subprocess.Popen(
        [binary, *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=errlog,
        text=True,
    )
    process.errlog = errlog
    line = process.stdout.readline()
    check(line, f"{binary} printed its start-up line")
    return process, json.loads(line)


def get(url, headers=None):
    """A GET's status, headers and JSON body (errors included)."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def basic(name, key):
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{key}".encode()).decode()}


def text_of(result):
    return "".join(getattr(block, "text", "") for block in result.content)


async def session_of(url, key, run):
    """Runs `run(session)` in an MCP session opened with `key`, as the client CLIENT."""
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            info = types.Implementation(name=CLIENT, version="1")
            async with ClientSession(read, write, client_info=info) as session:
                await session.initialize()
                return await run(session)


def main(gateway_binary, sandbox_binary):
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CRISP_") and k != "RUST_LOG"}
    sandbox, up = start(sandbox_binary, ["--port", "0", "--daily-quota", "0"], {**clean, "RUST_LOG": "warn"})
    gateway = None
    try:
        root = up["base_url"].removesuffix("/v1")
        website = up["website_id"]

        def api_requests():
            return get(f"{root}/_sandbox/requests")[2]["data"]["api_requests"]

        def messages(session_id):
            fixtures = get(f"{root}/_sandbox/fixtures")[2]
            for conversation in fixtures["conversations"]:
                if conversation["session_id"] == session_id:
                    return conversation.get("messages", [])
            return []

        keys = {name: secrets.token_hex(32) for name in ["assistant", "reader", "proposer"]}
        policy = ""
        for name, grants in [("assistant", ASSISTANT), ("reader", READER), ("proposer", ASSISTANT)]:
            digest = hashlib.sha256(keys[name].encode()).hexdigest()
            policy += f'[[agents]]\nname = "{name}"\nkey_sha256 = "{digest}"\ngrants = "{grants}"\n'
            policy += f'websites = ["{website}"]\n'
            if name == "proposer":
                policy += 'approve = ["send_message"]\n'
            policy += "\n"
        directory = tempfile.TemporaryDirectory(prefix="crisp-gateway-mcp-")
        with open(os.path.join(directory.name, "gateway.toml"), "w") as f:
            f.write(policy)
        data = os.path.join(directory.name, "data")
        env = {
            **clean,
            "CRISP_IDENTIFIER": up["identifier"],
            "CRISP_KEY": up["key"],
            "CRISP_TIER": up["tier"],
            "CRISP_BASE_URL": up["base_url"],
        }
        gateway, line = start(
            gateway_binary,
            ["--port", "0", "--data", data, "--policy", os.path.join(directory.name, "gateway.toml")],
            env,
        )
        url = line["mcp_url"]
        check(url.endswith("/mcp") and url.startswith("http://127.0.0.1:"), f"the start-up line names /mcp: {line}")
        print(f"ok: the gateway serves MCP at {url}")

        # At the door: 401 naming the metadata, which is served.
        for key in [None, keys["assistant"] + "x"]:
            headers = {"Content-Type": "application/json"}
            if key is not None:
                headers["Authorization"] = f"Bearer {key}"
            request = urllib.request.Request(url, data=b"{}", method="POST", headers=headers)
            try:
                urllib.request.urlopen(request, timeout=10)
                status, challenge = 200, None
            except urllib.error.HTTPError as error:
                status, challenge = error.code, error.headers.get("WWW-Authenticate", "")
            check(status == 401, f"no valid key: {status}")
            check(challenge.startswith('Bearer resource_metadata="'), f"the 401 names the metadata: {challenge}")
        metadata_url = challenge.split('"')[1]
        status, _, metadata = get(metadata_url)
        check(status == 200 and metadata["resource"] == url, f"the metadata names /mcp: {metadata}")
        check(metadata["bearer_methods_supported"] == ["header"], f"a bearer key in a header: {metadata}")
        print("ok: 401 with WWW-Authenticate naming the protected-resource metadata, which is served")

        expected = allowed_by_spec(ASSISTANT)
        counted = {"mcp": 0, "rest": 0, "proposer": 0}

        async def as_assistant(session):
            listed = (await session.list_tools()).tools
            names = [tool.name for tool in listed]
            check(names == expected, f"exactly the assistant's tools: {names}")
            check("approval_status" not in names, "no approval_status without approvals")
            check(all(tool.output_schema and tool.output_schema.get("type") == "object" for tool in listed), "output schemas")
            print(f"ok: the assistant's key lists exactly its {len(names)} tools, each with an output schema")

            before = api_requests()
            result = await session.call_tool("list_conversations", {})
            counted["mcp"] += 1
            check(not result.is_error, text_of(result))
            check(api_requests() == before + 1, "one request upstream")
            status, _, direct = get(f"{up['base_url']}/website/{website}/conversations/1", {**basic(up["identifier"], up["key"]), "X-Crisp-Tier": up["tier"]})
            check(status == 200 and result.structured_content["data"] == direct["data"], "what the sandbox answers")
            session_id = direct["data"][0]["session_id"]
            print("ok: list_conversations through the gateway answers what the sandbox answers")

            before = api_requests()
            outside = await session.call_tool("list_conversations", {"website_id": ELSEWHERE})
            counted["mcp"] += 1
            error = (outside.structured_content or {}).get("error", {})
            check(outside.is_error and error.get("code") == "website", outside.structured_content)
            check(error.get("status") == 403 and error.get("reason") == "not_allowed", error)
            check(api_requests() == before, "nothing sent for another website")
            print("ok: a website outside the agent's list is refused (website, 403 not_allowed), nothing sent")

            arguments = {
                "session_id": session_id,
                "body": {"type": "text", "from": "operator", "origin": "chat", "content": TEXT},
            }
            count = len(messages(session_id))
            preview = await session.call_tool("send_message", arguments)
            counted["mcp"] += 1
            check(not preview.is_error, text_of(preview))
            token = preview.structured_content["confirmation_token"]
            check(preview.structured_content["confirmation_required"] is True and isinstance(token, str), "a preview")
            check(api_requests() == before and len(messages(session_id)) == count, "the preview sent nothing")
            sent = await session.call_tool("send_message", {**arguments, "confirmation_token": token})
            counted["mcp"] += 1
            check(not sent.is_error, text_of(sent))
            after = messages(session_id)
            check(len(after) == count + 1 and sum(m.get("content") == TEXT for m in after) == 1, "sent once")
            print("ok: send_message gave a preview and a token, sent nothing; with the token, sent once")

            before = api_requests()
            refused = await session.call_tool("remove_conversation", {"session_id": session_id})
            counted["mcp"] += 1
            error = (refused.structured_content or {}).get("error", {})
            check(refused.is_error and error.get("code") == "not_granted", refused.structured_content)
            check(api_requests() == before, "nothing sent for a tool outside the grants")
            print("ok: a tool outside the grants is refused, nothing sent")
            return session_id

        async def as_reader_too(session_id):
            # The other agent on /v1 while the assistant's session is open.
            async def reader_rest():
                base = line["base_url"]
                status, _, body = await asyncio.to_thread(
                    get, f"{base}/website/{website}/conversation/{session_id}", basic("reader", keys["reader"])
                )
                counted["rest"] += 1
                check(status == 200 and body["data"]["session_id"] == session_id, f"reader's read on /v1: {status}")
                request = urllib.request.Request(
                    f"{base}/website/{website}/conversation/{session_id}/message",
                    data=json.dumps({"type": "text", "from": "operator", "origin": "chat", "content": "no"}).encode(),
                    method="POST",
                    headers={**basic("reader", keys["reader"]), "Content-Type": "application/json"},
                )
                try:
                    await asyncio.to_thread(urllib.request.urlopen, request, timeout=10)
                    status = 200
                except urllib.error.HTTPError as error:
                    status = error.code
                counted["rest"] += 1
                check(status == 403, f"reader's write on /v1: {status}")

            async def reader_tools(session):
                names = [tool.name for tool in (await session.list_tools()).tools]
                check(names == allowed_by_spec(READER), f"the reader's tools: {names}")

            await asyncio.gather(reader_rest(), session_of(url, keys["reader"], reader_tools))
            print("ok: the other agent, on both fronts at once: /v1 within its grants, its own tools on /mcp")

        async def as_proposer(session_id, session):
            listed = {tool.name: tool for tool in (await session.list_tools()).tools}
            check(list(listed) == [*expected, "approval_status"], f"the proposer's tools: {list(listed)}")
            send = listed["send_message"].input_schema["properties"]
            check("confirmation_token" not in send, "a call that is only proposed takes no token")
            before, count = api_requests(), len(messages(session_id))
            arguments = {
                "session_id": session_id,
                "body": {"type": "text", "from": "operator", "origin": "chat", "content": "Proposed"},
            }
            proposed = await session.call_tool("send_message", arguments)
            counted["proposer"] += 1
            check(not proposed.is_error, text_of(proposed))
            held = proposed.structured_content
            check(held["approval_required"] is True and held["status"] == "pending", held)
            check(held["request"]["method"] == "POST" and held["request"]["body"] == arguments["body"], held)
            check(held["request"]["path"] == f"/website/{website}/conversation/{session_id}/message", held)
            check("The customer will see:\n    Proposed" in text_of(proposed), text_of(proposed))
            check(api_requests() == before and len(messages(session_id)) == count, "nothing sent")
            status = await session.call_tool("approval_status", {"approval_id": held["approval_id"]})
            counted["proposer"] += 1
            check(not status.is_error and status.structured_content["status"] == "pending", status.structured_content)
            print("ok: a proposed send_message is a result with its approval id and request, nothing sent; approval_status says pending")

        async def both():
            session_id = await session_of(url, keys["assistant"], as_assistant)
            await as_reader_too(session_id)
            await session_of(url, keys["proposer"], lambda session: as_proposer(session_id, session))

        asyncio.run(both())

        gateway.send_signal(signal.SIGINT)
        check(gateway.wait(timeout=30) == 0, "SIGINT stops the gateway cleanly")
        audit = subprocess.run(
            [gateway_binary, "audit", "--data", data, "--json", "--limit", "1000"],
            env=clean,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows = [json.loads(row) for row in audit.splitlines()]
        mcp_rows = [row for row in rows if row["front"] == "mcp" and row["agent"] != "proposer"]
        rest_rows = [row for row in rows if row["front"] == "rest"]
        proposer_rows = [row for row in rows if row["agent"] == "proposer"]
        check(len(mcp_rows) == counted["mcp"] and len(rest_rows) == counted["rest"], f"one row per call: {rows}")
        check(
            [(row["front"], row["client"], row["operation"], row["decision"]) for row in reversed(proposer_rows)]
            == [("mcp", CLIENT, "send_message", "proposed"), ("mcp", CLIENT, "approval_status", "allowed")],
            f"the proposer's rows: {proposer_rows}",
        )
        check(all(row["agent"] == "assistant" and row["client"] == CLIENT for row in mcp_rows), mcp_rows)
        check(all(row["agent"] == "reader" for row in rest_rows), rest_rows)
        decisions = [(row["operation"], row["decision"], row.get("why")) for row in reversed(mcp_rows)]
        check(
            decisions
            == [
                ("list_conversations", "allowed", None),
                ("list_conversations", "refused", "website"),
                ("send_message", "awaiting_confirmation", None),
                ("send_message", "confirmed", None),
                ("remove_conversation", "refused", "not_granted"),
            ],
            f"the MCP rows: {decisions}",
        )
        gateway.errlog.seek(0)
        said = json.dumps(line) + gateway.stdout.read() + gateway.errlog.read() + audit
        check(all(key not in said for key in [up["key"], *keys.values()]), "no key in the audit, stdout or stderr")
        print("ok: one audit row per call with agent, front, client and decision; no key anywhere the gateway wrote")
        directory.cleanup()
    finally:
        for process in [gateway, sandbox]:
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    # A guard against a hang: CI must end.
    signal.alarm(120)
    main(sys.argv[1], sys.argv[2])
    print(f"python mcp SDK against the gateway: {checks} checks passed")
