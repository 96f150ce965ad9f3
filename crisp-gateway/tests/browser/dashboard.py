"""The gateway's dashboard in a real browser: Debian's headless Chromium, driven by Playwright
for Python (pinned; its own browser downloads are never used), against a crisp-gateway binary
with a crisp-sandbox binary upstream.

- it signs in with the admin token and sees both agents and their usage today;
- it filters the audit log by agent, expands a row, and exports the filtered rows;
- a value an agent chose that holds HTML (a message body, a user agent) shows as text: no
  script runs, no element is made of it;
- approvals: a `send_message` proposed through the REST front waits with its text; approved,
  the sandbox has the message exactly once; another, denied with a note, is told to the agent
  as denied with that note; the audit log shows the proposals, the approval, the send and the
  denial as rows.

Run by .ci/run:
    python dashboard.py PATH/TO/crisp-gateway PATH/TO/crisp-sandbox OUT_DIR [--docs-images DIR]

Screenshots of each page go to OUT_DIR (git-ignored); with --docs-images, copies of the final
ones go there too (for docs/gateway.md). Each check prints a line; any failure exits non-zero.
"""

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ADMIN_TOKEN = secrets.token_hex(24)
HTML_TEXT = '<script>alert("xss")</script><b>Your refund</b> is on its way.'
USER_AGENT_HTML = "<img src=x onerror=alert(1)>-agent/1.0"

failures = 0


def check(ok, what, detail=""):
    global failures
    if ok:
        print(f"ok - {what}", flush=True)
    else:
        failures += 1
        print(f"FAIL - {what}{': ' + str(detail) if detail else ''}", flush=True)
    return ok


def start(binary, args, env):
    """Starts a binary and reads the JSON line it prints first."""
    child = subprocess.Popen(
        [binary, *args], env=env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True
    )
    line = child.stdout.readline()
    if not line:
        raise SystemExit(f"FAIL - {binary} exited ({child.wait()}) before its start-up line")
    return child, json.loads(line)


def call(method, url, auth=None, body=None, user_agent="dashboard-test/1.0", tier=None):
    """An HTTP call: (status, JSON answer or None)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("User-Agent", user_agent)
    if tier:
        request.add_header("X-Crisp-Tier", tier)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth:
        pair = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {pair}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def main():
    if len(sys.argv) < 4:
        raise SystemExit(
            "usage: dashboard.py PATH/TO/crisp-gateway PATH/TO/crisp-sandbox OUT_DIR "
            "[--docs-images DIR]"
        )
    gateway_binary, sandbox_binary, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    docs = Path(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--docs-images" else None
    out.mkdir(parents=True, exist_ok=True)
    # A guard against a hang: CI must end.
    guard = threading.Timer(180, lambda: (print("FAIL - not done within 180 s", flush=True), os._exit(1)))
    guard.daemon = True
    guard.start()

    clean = {k: v for k, v in os.environ.items() if not k.startswith("CRISP_") and k != "RUST_LOG"}
    children = []
    work = tempfile.mkdtemp(prefix="crisp-dashboard-")
    try:
        sandbox, line = start(sandbox_binary, ["--port", "0", "--daily-quota", "0"], {**clean, "RUST_LOG": "warn"})
        children.append(sandbox)
        website, sandbox_url = line["website_id"], line["base_url"]
        upstream = (line["identifier"], line["key"])
        tier = line["tier"]

        agents = {
            "triage": {"grants": "website:conversation:sessions=read, website:settings=read", "extra": "daily_budget = 200\n"},
            "reply": {
                "grants": "website:conversation:sessions=read, website:conversation:messages=read-write",
                "extra": 'approve = ["send_message"]\n',
            },
        }
        policy = ""
        for name, agent in agents.items():
            agent["key"] = secrets.token_hex(32)
            digest = hashlib.sha256(agent["key"].encode()).hexdigest()
            policy += (
                f'[[agents]]\nname = "{name}"\nkey_sha256 = "{digest}"\ngrants = "{agent["grants"]}"\n'
                f'websites = ["{website}"]\n{agent["extra"]}\n'
            )
        Path(work, "gateway.toml").write_text(policy)
        gateway, line = start(
            gateway_binary,
            ["--port", "0", "--data", str(Path(work, "data")), "--policy", str(Path(work, "gateway.toml"))],
            {
                **clean,
                "CRISP_IDENTIFIER": upstream[0],
                "CRISP_KEY": upstream[1],
                "CRISP_TIER": tier,
                "CRISP_BASE_URL": sandbox_url,
                "CRISP_GATEWAY_ADMIN_TOKEN": ADMIN_TOKEN,
            },
        )
        children.append(gateway)
        api, dashboard = line["base_url"], line["dashboard_url"].rstrip("/")
        check(dashboard.startswith("http://127.0.0.1:"), "the gateway prints its dashboard's address", dashboard)
        triage = ("triage", agents["triage"]["key"])
        reply = ("reply", agents["reply"]["key"])

        # Some traffic: triage reads (one request refused by its grants), reply reads with a
        # user agent that holds HTML.
        status, listed = call("GET", f"{api}/website/{website}/conversations/1", triage)
        check(status == 200, "triage lists conversations through the REST front", status)
        session = listed["data"][0]["session_id"]
        check(call("GET", f"{api}/website/{website}/settings", triage)[0] == 200, "triage reads the settings")
        check(
            call("POST", f"{api}/website/{website}/conversation/{session}/message", triage,
                 {"type": "text", "from": "operator", "origin": "chat", "content": "no"})[0] == 403,
            "triage may not send a message (403)",
        )
        check(
            call("GET", f"{api}/website/{website}/conversations/1", reply, user_agent=USER_AGENT_HTML)[0] == 200,
            "reply lists conversations, with a user agent holding HTML",
        )

        pending = propose(api, website, session, reply)

        with sync_playwright() as playwright:
            # Playwright's own browser downloads are never used: Debian's Chromium, a fresh profile.
            context = playwright.chromium.launch_persistent_context(
                tempfile.mkdtemp(prefix="chromium-", dir=work),
                executable_path=CHROMIUM,
                headless=True,
                args=CHROMIUM_FLAGS,
                viewport={"width": 1180, "height": 860},
                accept_downloads=True,
            )
            page = context.new_page()
            dialogs = []
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

            # Sign in.
            page.goto(f"{dashboard}/")
            check(page.url.endswith("/sign-in"), "without a session, the dashboard sends to the sign-in page", page.url)
            check(ADMIN_TOKEN not in page.content(), "the sign-in page never holds the token")
            page.screenshot(path=str(out / "sign-in.png"))
            page.fill("input[name=token]", "not-the-token-" + secrets.token_hex(8))
            with page.expect_navigation():
                page.click("button[type=submit]")
            check("not the gateway's admin token" in page.content(), "a wrong token is refused", page.content()[:3000])
            page.fill("input[name=token]", ADMIN_TOKEN)
            page.fill("input[name=name]", "Ana (team lead)")
            with page.expect_navigation():
                page.click("button[type=submit]")
            check(page.url == f"{dashboard}/", "the right token opens the agents page", page.url)

            # Agents and their usage.
            cards = page.locator("article.agent")
            names = sorted(cards.nth(i).get_attribute("data-agent") for i in range(cards.count()))
            check(names == ["reply", "triage"], "both agents are shown", names)
            triage_today = page.locator("article[data-agent=triage] dd.today").inner_text()
            check(triage_today.startswith("2 of 200 requests"), "triage's requests today against its budget (the refused one not charged)", triage_today)
            reply_today = page.locator("article[data-agent=reply] dd.today").inner_text()
            check(reply_today.startswith("1 request (no daily budget)"), "reply's requests today", reply_today)
            check(page.locator("svg.chart rect").count() >= 2, "the requests-per-hour chart has bars")
            check(ADMIN_TOKEN not in page.content(), "no page holds the admin token")
            page.screenshot(path=str(out / "agents.png"), full_page=True)

            # Approvals.
            page.click("nav >> text=Approvals")
            page.screenshot(path=str(out / "approvals.png"), full_page=True)
            review(page, pending, api, (sandbox_url, upstream, tier), website, session, reply)
            page.screenshot(path=str(out / "approvals-decided.png"), full_page=True)

            # The audit log, filtered by agent.
            page.click("nav >> text=Audit log")
            check(page.locator("details.row").count() >= 5, "the audit log lists the requests")
            page.select_option("select[name=agent]", "reply")
            page.click("form.filters button[type=submit]")
            rows = page.locator("details.row")
            agents_shown = {rows.nth(i).get_attribute("data-agent") for i in range(rows.count())}
            check(rows.count() >= 1 and agents_shown == {"reply"}, "filtered by agent, only reply's rows", agents_shown)
            check("agent=reply" in page.url, "the filter is in the address (a link to share)", page.url)
            sends = page.locator("details.row", has_text="send_message").locator("span.decision")
            decisions = sorted(sends.nth(i).inner_text() for i in range(sends.count()))
            check(
                decisions == ["approved", "denied", "proposed", "proposed", "sent"],
                "the audit log shows each proposal, the approval, the send and the denial as rows",
                decisions,
            )
            listed = page.locator("details.row", has_text="list_conversations").first
            listed.locator("summary").click()
            detail = listed.locator("dl").inner_text()
            check(USER_AGENT_HTML in detail, "an agent's user agent holding HTML shows as text", detail)
            check(page.locator("main img").count() == 0, "no element was made of it")
            page.screenshot(path=str(out / "audit.png"), full_page=True)

            with page.expect_download() as download:
                page.click("text=Export as JSON lines")
            lines = [json.loads(l) for l in Path(download.value.path()).read_text().splitlines()]
            check(
                len(lines) == rows.count() and all(l["agent"] == "reply" for l in lines),
                "the export holds the filtered rows as JSON lines",
                len(lines),
            )
            check(not dialogs, "no script ran on any page", dialogs)
            context.close()

        if docs:
            docs.mkdir(parents=True, exist_ok=True)
            for name in ["agents.png", "audit.png", "approvals.png"]:
                shutil.copy(out / name, docs / f"dashboard-{name}")
                # Smaller for the repository, when pngquant is at hand (apt-get install pngquant).
                if shutil.which("pngquant"):
                    target = str(docs / f"dashboard-{name}")
                    subprocess.run(
                        ["pngquant", "--force", "--quality=70-90", "--skip-if-larger", "--strip", "--output", target, target],
                        check=False,
                    )
            print(f"copied the screenshots to {docs}", flush=True)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(work, ignore_errors=True)

    print(f"{'FAIL' if failures else 'ok'} - dashboard in Chromium: {failures} failure(s)", flush=True)
    os._exit(1 if failures else 0)


def propose(api, website, session, reply):
    """Two send_message proposals by reply: one to approve (its body holds HTML), one to deny."""
    pending = {}
    for which, content in [("approve", HTML_TEXT), ("deny", "A reply the team lead will refuse.")]:
        status, answer = call(
            "POST", f"{api}/website/{website}/conversation/{session}/message", reply,
            {"type": "text", "from": "operator", "origin": "chat", "content": content},
        )
        ok = status == 202 and (answer or {}).get("reason") == "pending_approval"
        check(ok, f"reply's send_message ({which}) waits for approval (202 pending_approval)", (status, answer))
        pending[which] = (answer or {}).get("data", {}).get("approval_id")
    return pending


def review(page, pending, api, sandbox, website, session, reply):
    """Reads the proposals as the customer would see them, approves one, denies the other."""
    card = page.locator(f"article[data-approval='{pending['approve']}']")
    text = card.locator("pre.customer-text").inner_text()
    check(text == HTML_TEXT, "the pending message shows its text exactly, HTML as text", text)
    check(card.locator("pre.customer-text b").count() == 0, "no element was made of the message's HTML")
    check(f"/conversation/{session}/message" in card.locator("pre.request").inner_text(), "the path with its ids is shown")

    before = messages(sandbox, website, session)
    with page.expect_navigation():
        card.locator("button[value=approve]").click()
    after = messages(sandbox, website, session)
    check(after.count(HTML_TEXT) == 1 and before.count(HTML_TEXT) == 0, "approved: the sandbox has the message exactly once", after.count(HTML_TEXT))
    said = page.locator("p.flash").inner_text()
    check("Crisp answered 200" in said, "the page says what Crisp answered", said)

    denied = page.locator(f"article[data-approval='{pending['deny']}']")
    denied.locator("textarea[name=note]").fill("Too curt: please add a greeting.")
    with page.expect_navigation():
        denied.locator("button[value=deny]").click()
    check("Denied" in page.locator("p.flash").inner_text(), "the page says it was denied")
    status, answer = call("GET", f"{api}/_gateway/approvals/{pending['deny']}", reply)
    data = (answer or {}).get("data", {})
    check(
        status == 200 and data.get("status") == "denied" and "Too curt" in json.dumps(data),
        "the agent's status call says denied, with the note",
        answer,
    )
    check(messages(sandbox, website, session).count(HTML_TEXT) == 1, "still exactly once after the denial")


def messages(sandbox, website, session):
    """The texts of a conversation's messages, read from the sandbox directly."""
    url, token, tier = sandbox
    status, answer = call("GET", f"{url}/website/{website}/conversation/{session}/messages", token, tier=tier)
    if status != 200:
        return []
    return [m.get("content") for m in answer.get("data", []) if isinstance(m.get("content"), str)]


if __name__ == "__main__":
    try:
        main()
    except Exception as error:  # any failure exits non-zero, with what went wrong
        print(f"FAIL - {type(error).__name__}: {error}", flush=True)
        os._exit(1)
