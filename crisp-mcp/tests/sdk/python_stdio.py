#!/usr/bin/env python3
"""Drives the crisp-mcp binary over stdio with the official MCP Python SDK (`mcp`), a client
this project did not write, against the embedded sandbox it starts.

    python crisp-mcp/tests/sdk/python_stdio.py target/debug/crisp-mcp spec/crisp.yaml

`.ci/run` installs the SDK (pinned) into .venv-mcp/ and runs this. It checks:

- initialize, then list tools with grants: exactly the tools the grants allow (computed here
  from the spec's x-crisp-scope and x-crisp-access, not from the server), each input and
  output schema a valid JSON Schema 2020-12, annotations as the spec says;
- every result with structured content fits its tool's output schema: the SDK checks the
  results that are not errors itself (it raises otherwise), and the test checks the errors
  too, as other clients (the TypeScript SDK) do;
- list_conversations against the embedded sandbox returns its conversations;
- send_message: first a preview and a one-time token, and the sandbox received nothing; then,
  with the token, the message is sent exactly once; the token does not work twice (a refusal
  whose structured error has the code `unknown_token`);
- a tool outside the grants is refused (structured error `not_granted`, with a hint), and the
  sandbox receives no request;
- the audit file has one line per call with the decision, and no token or message text;
- over streamable HTTP off loopback (bound to 0.0.0.0, reached on 127.0.0.1), a request
  without the bearer token gets 401 with `WWW-Authenticate: Bearer resource_metadata="..."`,
  whose URL serves the protected-resource metadata (RFC 9728) without a token, and the SDK
  with the token initializes, lists and calls;
- with `--stateless`, `initialize` issues no `Mcp-Session-Id`, and the SDK still initializes,
  lists, previews a message and confirms it once (the token refused the second time).
"""

import asyncio
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

import httpx2

import yaml
from jsonschema import Draft202012Validator
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client

GRANTS = "website:conversation:sessions=read, website:conversation:messages=read-write"
TEXT = "Your refund is on its way (Python SDK test)"

checks = 0


def check(condition, what):
    global checks
    if not condition:
        raise AssertionError(what)
    checks += 1


def allowed_by_spec(spec_path, grants):
    """operationIds the grants allow, in the spec's order, from the spec itself."""
    levels = {}
    for entry in grants.split(","):
        scope, level = (part.strip() for part in entry.split("="))
        levels[scope] = level
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    allowed = []
    for item in spec["paths"].values():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            level = levels.get(op["x-crisp-scope"])
            if level == "read-write" or level == op["x-crisp-access"]:
                allowed.append((op["operationId"], op))
    return allowed


def admin(root, path):
    with urllib.request.urlopen(f"{root}/_sandbox/{path}", timeout=10) as response:
        body = json.load(response)
    # The admin routes answer Crisp's envelope, except the fixtures export, which is the file.
    return body["data"] if "data" in body and "error" in body else body


def api_requests(root):
    return admin(root, "requests")["api_requests"]


def messages(root, session_id):
    for conversation in admin(root, "fixtures")["conversations"]:
        if conversation["session_id"] == session_id:
            return conversation.get("messages", [])
    return []


def text_of(result):
    return "".join(getattr(block, "text", "") for block in result.content)


async def main(binary, spec_path):
    expected = allowed_by_spec(spec_path, GRANTS)
    errlog = tempfile.TemporaryFile(mode="w+")
    audit = tempfile.NamedTemporaryFile(mode="r", suffix=".jsonl")
    params = StdioServerParameters(command=binary, args=["--grants", GRANTS, "--audit", audit.name])
    async with stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            check(init.server_info.name == "crisp-mcp", "server name")
            check(init.capabilities.tools is not None, "tools capability")

            errlog.seek(0)
            found = re.search(r"embedded sandbox at (http://127\.0\.0\.1:\d+)/v1 \(website ([^)]+)\)", errlog.read())
            check(found is not None, "the server says it uses the embedded sandbox")
            root, website = found.group(1), found.group(2)

            listed = (await session.list_tools()).tools
            names = [tool.name for tool in listed]
            check(names == [op_id for op_id, _ in expected], f"exactly the granted tools: {names}")
            by_name = {tool.name: tool for tool in listed}
            for op_id, op in expected:
                tool = by_name[op_id]
                Draft202012Validator.check_schema(tool.input_schema)
                check(tool.input_schema.get("type") == "object", f"{op_id}: an object schema")
                check(tool.output_schema is not None, f"{op_id}: an output schema")
                Draft202012Validator.check_schema(tool.output_schema)
                check(tool.output_schema.get("type") == "object", f"{op_id}: an object output schema")
                hints = tool.annotations
                check(hints.read_only_hint == (op["x-crisp-access"] == "read"), f"{op_id}: readOnlyHint")
                check(hints.destructive_hint == (op.get("x-crisp-effect") == "irreversible"), f"{op_id}: destructiveHint")
                check(hints.open_world_hint == (op.get("x-crisp-effect") == "customer-visible"), f"{op_id}: openWorldHint")
                check(op["x-crisp-scope"] in tool.description, f"{op_id}: the scope is in the description")
            print(f"ok: {len(names)} tools listed within the grants, input and output schemas valid (Draft 2020-12)")

            def fits(tool_name, structured):
                errors = list(Draft202012Validator(by_name[tool_name].output_schema).iter_errors(structured))
                check(not errors, f"{tool_name}: {structured} does not fit its output schema: {errors[:1]}")

            before = api_requests(root)
            result = await session.call_tool("list_conversations", {})
            check(not result.is_error, text_of(result))
            fits("list_conversations", result.structured_content)
            check(result.structured_content["error"] is False, "Crisp's envelope")
            conversations = result.structured_content["data"]
            check(len(conversations) > 0 and "session_id" in conversations[0], "conversations from the sandbox")
            check(api_requests(root) == before + 1, "one request to the sandbox")
            session_id = conversations[0]["session_id"]
            print(f"ok: list_conversations returned {len(conversations)} conversations")

            arguments = {
                "session_id": session_id,
                "body": {"type": "text", "from": "operator", "origin": "chat", "content": TEXT},
            }
            count = len(messages(root, session_id))
            requests = api_requests(root)
            preview = await session.call_tool("send_message", arguments)
            check(not preview.is_error, text_of(preview))
            shown = preview.structured_content
            fits("send_message", shown)
            check(shown["confirmation_required"] is True, "a preview")
            check(shown["request"]["body"] == arguments["body"], "the preview shows the exact body")
            check(website in shown["request"]["path"] and session_id in shown["request"]["path"], "and the ids")
            token = shown["confirmation_token"]
            check(isinstance(token, str) and len(token) >= 32, "a token")
            check(api_requests(root) == requests, "the preview sent nothing")
            check(len(messages(root, session_id)) == count, "the sandbox received no message")
            print("ok: send_message answered a preview and a token, and sent nothing")

            sent = await session.call_tool("send_message", {**arguments, "confirmation_token": token})
            check(not sent.is_error, text_of(sent))
            after = messages(root, session_id)
            check(len(after) == count + 1, "exactly one more message")
            check(sum(1 for m in after if m.get("content") == TEXT) == 1, "the message is there once")
            again = await session.call_tool("send_message", {**arguments, "confirmation_token": token})
            check(again.is_error, "the token works once")
            error = (again.structured_content or {}).get("error", {})
            check(error.get("kind") == "refused" and error.get("code") == "unknown_token", again.structured_content)
            fits("send_message", again.structured_content)
            check(len(messages(root, session_id)) == count + 1, "still exactly one")
            print("ok: with the token the message was sent once; the token did not work twice")

            requests = api_requests(root)
            refused = await session.call_tool("remove_conversation", {"session_id": session_id})
            check(refused.is_error and "Refused" in text_of(refused), text_of(refused))
            error = (refused.structured_content or {}).get("error", {})
            check(error.get("code") == "not_granted" and error.get("hint"), refused.structured_content)
            check(api_requests(root) == requests, "a tool outside the grants sends no request")
            print("ok: a tool outside the grants was refused with no request to the sandbox")

    lines = [json.loads(line) for line in audit.read().splitlines()]
    decisions = [(line["tool"], line["decision"]) for line in lines]
    check(
        decisions
        == [
            ("list_conversations", "allowed"),
            ("send_message", "awaiting_confirmation"),
            ("send_message", "confirmed"),
            ("send_message", "refused"),
            ("remove_conversation", "refused"),
        ],
        f"the audit lines: {decisions}",
    )
    check(lines[-1]["refusal"] == "not_granted", "refused as not granted")
    check(all(line["client"] for line in lines), "the client's name is recorded")
    raw = json.dumps(lines)
    check(token not in raw and TEXT not in raw, "no token and no message text in the audit")
    print("ok: one audit line per call, no token or body")


def start_http(binary, host, flags, extra_env):
    """Starts the binary over streamable HTTP on `host`, a port of its choice, with `flags`, no
    audit file, and none of the caller's CRISP_ variables but `extra_env`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISP_")}
    env.update(extra_env)
    return subprocess.Popen(
        [binary, "--http", f"{host}:0", *flags, "--audit", os.devnull],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def listening_at(server, host):
    """The endpoint URL (reached on 127.0.0.1) the server says it listens at on `host`."""
    url = None
    for line in server.stderr:
        found = re.search(rf"streamable HTTP at http://{re.escape(host)}:(\d+)/mcp", line)
        if found:
            url = f"http://127.0.0.1:{found.group(1)}/mcp"
            break
    check(url is not None, "the server says where it listens")
    return url


async def over_http(binary):
    token = secrets.token_hex(16)
    server = start_http(binary, "0.0.0.0", ["--read-only"], {"CRISP_MCP_TOKEN": token})
    try:
        url = listening_at(server, "0.0.0.0")
        request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
        challenge = None
        try:
            urllib.request.urlopen(request, timeout=10)
            status = 200
        except urllib.error.HTTPError as error:
            status = error.code
            challenge = error.headers.get("WWW-Authenticate")
        check(status == 401, f"no bearer token: {status}")
        found = re.fullmatch(r'Bearer resource_metadata="([^"]+)"', challenge or "")
        check(found is not None, f"the 401 names the resource metadata: {challenge}")
        with urllib.request.urlopen(found.group(1), timeout=10) as response:
            metadata = json.load(response)
        check(metadata.get("resource") == url, f"the metadata names the endpoint: {metadata}")
        check(metadata.get("bearer_methods_supported") == ["header"], f"a bearer token in a header: {metadata}")
        async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}) as http:
            async with streamable_http_client(url, http_client=http) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    names = [tool.name for tool in (await session.list_tools()).tools]
                    check("list_conversations" in names and "send_message" not in names, "--read-only over HTTP")
                    result = await session.call_tool("count_visitors", {})
                    check(not result.is_error and "count" in result.structured_content["data"], text_of(result))
        print("ok: over HTTP off loopback, 401 naming the resource metadata without the bearer token; with it, initialize, list and call")
    finally:
        server.terminate()
        server.wait(timeout=10)


async def over_http_stateless(binary):
    """--http --stateless: no session, each request alone; the SDK still initializes, lists,
    previews and confirms once (the token works once, whichever request carries it)."""
    server = start_http(binary, "127.0.0.1", ["--stateless"], {})
    try:
        url = listening_at(server, "127.0.0.1")
        request = urllib.request.Request(
            url,
            data=json.dumps({
                "jsonrpc": "2.0", "id": 1, "method": "initialize",
                "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}},
            }).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json, text/event-stream"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            check(response.headers.get("Mcp-Session-Id") is None, "no session is issued")
        async with streamable_http_client(url) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                conversations = await session.call_tool("list_conversations", {})
                check(not conversations.is_error, text_of(conversations))
                session_id = conversations.structured_content["data"][0]["session_id"]
                arguments = {
                    "session_id": session_id,
                    "body": {"type": "text", "from": "operator", "origin": "chat", "content": "stateless"},
                }
                preview = await session.call_tool("send_message", arguments)
                token = preview.structured_content["confirmation_token"]
                sent = await session.call_tool("send_message", {**arguments, "confirmation_token": token})
                check(not sent.is_error, text_of(sent))
                again = await session.call_tool("send_message", {**arguments, "confirmation_token": token})
                check(again.is_error and again.structured_content["error"]["code"] == "unknown_token", "the token works once")
        print("ok: --stateless over HTTP: no session issued; initialize, list, a preview and its token confirmed once")
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
    asyncio.run(over_http(sys.argv[1]))
    asyncio.run(over_http_stateless(sys.argv[1]))
    print(f"python mcp SDK: {checks} checks passed")
