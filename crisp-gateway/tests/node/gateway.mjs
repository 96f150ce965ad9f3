// The official Crisp Node client (`crisp-api` on npm, pinned in package.json), pointed at
// crisp-gateway with an agent's key, a crisp-sandbox binary as the gateway's upstream:
//
// - every call its grants allow works and answers what the sandbox answers directly;
// - a write outside its grants gets 403 `not_allowed`;
// - a website outside its list gets 403;
// - its budget ends with 429 and `Retry-After`;
// - the sandbox's request counter shows that no refused call reached it;
// - the audit log (`crisp-gateway audit --json`) has one row per request.
//
// Run by .ci/run:  node gateway.mjs PATH/TO/crisp-gateway PATH/TO/crisp-sandbox
// Each check prints a line; the script exits non-zero on any failure.

import { spawn, execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { isDeepStrictEqual } from "node:util";

import crispApi from "crisp-api";

const Crisp = crispApi.default ?? crispApi;
const [gatewayBinary, sandboxBinary] = process.argv.slice(2);
if (!gatewayBinary || !sandboxBinary) {
  console.error("usage: node gateway.mjs PATH/TO/crisp-gateway PATH/TO/crisp-sandbox");
  process.exit(2);
}

// A guard against a hang: CI must end.
setTimeout(() => {
  console.error("FAIL - the checks did not finish within 120 s");
  process.exit(1);
}, 120_000).unref();

let failures = 0;
let checks = 0;
function check(ok, what, detail = "") {
  checks += 1;
  if (ok) {
    console.log(`ok - ${what}`);
  } else {
    failures += 1;
    console.log(`FAIL - ${what}${detail ? `: ${detail}` : ""}`);
  }
}

const children = [];
function cleanUp() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
  }
}
process.on("exit", cleanUp);

/** Starts a binary and reads the JSON line it prints first. */
async function start(binary, args, env) {
  const child = spawn(binary, args, { env, stdio: ["ignore", "pipe", "inherit"] });
  children.push(child);
  const lines = createInterface({ input: child.stdout });
  const [first] = await Promise.race([
    once(lines, "line"),
    once(child, "exit").then(([code]) => {
      throw new Error(`${binary} exited (${code}) before printing its start-up line`);
    }),
  ]);
  return { child, line: JSON.parse(first) };
}

/** A call's outcome: its data, or the client's rejection. */
async function settle(promise) {
  try {
    return { ok: true, data: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

const withoutCrisp = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => !name.startsWith("CRISP_") && name !== "RUST_LOG")
);

// The upstream: a sandbox binary with no daily quota.
const sandbox = await start(sandboxBinary, ["--port", "0", "--daily-quota", "0"], {
  ...withoutCrisp,
  RUST_LOG: "warn",
});
const { website_id: website, identifier, key: upstreamKey, tier } = sandbox.line;
const sandboxRoot = sandbox.line.base_url.replace(/\/v1$/, "");
async function sandboxRequests() {
  const answer = await fetch(`${sandboxRoot}/_sandbox/requests`);
  return (await answer.json()).data.api_requests;
}

// The agents, with fresh keys: their hashes go in the policy, the keys stay here.
const READ_ALL =
  "website:conversation:sessions=read, website:conversation:messages=read, " +
  "website:conversation:states=read, website:people:profiles=read, website:settings=read, " +
  "website:operators=read, website:visitors=read, website:campaign:templates=read";
const agents = {
  reader: { grants: READ_ALL, websites: [website] },
  replier: {
    grants: "website:conversation:sessions=read, website:conversation:messages=read-write",
    websites: [website],
  },
  elsewhere: { grants: READ_ALL, websites: ["1b9e0c47-0000-4000-8000-00000000abcd"] },
  thrifty: { grants: READ_ALL, websites: [website], daily_budget: 3 },
};
let policy = "";
for (const [name, agent] of Object.entries(agents)) {
  agent.key = randomBytes(32).toString("hex");
  const hash = createHash("sha256").update(agent.key).digest("hex");
  policy += `[[agents]]\nname = "${name}"\nkey_sha256 = "${hash}"\ngrants = "${agent.grants}"\n`;
  policy += `websites = [${agent.websites.map((w) => `"${w}"`).join(", ")}]\n`;
  if (agent.daily_budget) {
    policy += `daily_budget = ${agent.daily_budget}\n`;
  }
  policy += "\n";
}
const dir = mkdtempSync(join(tmpdir(), "crisp-gateway-node-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, "data");
writeFileSync(join(dir, "gateway.toml"), policy);

// The gateway, forwarding to the sandbox as it would to Crisp.
const gateway = await start(
  gatewayBinary,
  ["--port", "0", "--data", data, "--policy", join(dir, "gateway.toml")],
  {
    ...withoutCrisp,
    CRISP_IDENTIFIER: identifier,
    CRISP_KEY: upstreamKey,
    CRISP_TIER: tier,
    CRISP_BASE_URL: sandbox.line.base_url,
  }
);
const gatewayUrl = gateway.line.base_url;
check(
  gateway.line.agents.length === 4 && gateway.line.agents.every((a) => a.key === undefined),
  "the gateway starts with the policy's four agents, and prints no key"
);

/** The official client, on the gateway (or, with `root`, elsewhere), as `name`. */
function client(name, key, root = gatewayUrl.replace(/\/v1$/, "")) {
  const crisp = new Crisp();
  crisp.setRestHost(root);
  crisp.authenticateTier("plugin", name, key);
  return crisp;
}
const direct = client(identifier, upstreamKey, sandboxRoot);
let gatewayRequests = 0;

// 1. Every read its grants allow: through the gateway, the sandbox's own answer, one request.
const session = "session_700c65e1-85e2-465a-b9ac-ecb5ec2c9881";
const people = "c5d2a9f1-3b7e-4f0a-8d61-2e9b4c7a1f05";
const operator = "aa0b0c3b-1b11-4c9f-b6e5-0e1b5d6a7c42";
const fingerprint = 163408221955193;
const reads = {
  listConversations: (c) => c.website.listConversations(website, 1),
  getConversation: (c) => c.website.getConversation(website, session),
  getMessagesInConversation: (c) => c.website.getMessagesInConversation(website, session),
  getMessageInConversation: (c) => c.website.getMessageInConversation(website, session, fingerprint),
  getConversationState: (c) => c.website.getConversationState(website, session),
  getConversationMetas: (c) => c.website.getConversationMetas(website, session),
  listPeopleProfiles: (c) => c.website.listPeopleProfiles(website, 1),
  getPeopleProfile: (c) => c.website.getPeopleProfile(website, people),
  getPeopleData: (c) => c.website.getPeopleData(website, people),
  getWebsiteSettings: (c) => c.website.getWebsiteSettings(website),
  listWebsiteOperators: (c) => c.website.listWebsiteOperators(website),
  getWebsiteOperator: (c) => c.website.getWebsiteOperator(website, operator),
  listVisitors: (c) => c.website.listVisitors(website, 1),
  countVisitors: (c) => c.website.countVisitors(website),
  listCampaigns: (c) => c.website.listCampaigns(website, 1),
};
const reader = client("reader", agents.reader.key);
for (const [name, call] of Object.entries(reads)) {
  const before = await sandboxRequests();
  const through = await settle(call(reader));
  gatewayRequests += 1;
  const after = await sandboxRequests();
  const straight = await settle(call(direct));
  check(
    through.ok && straight.ok && isDeepStrictEqual(through.data, straight.data) && after === before + 1,
    `${name} through the gateway answers what the sandbox answers`,
    through.ok ? `${after - before} upstream request(s)` : JSON.stringify(through.error)
  );
}

// A write its grants allow works too.
const replier = client("replier", agents.replier.key);
const message = { type: "text", from: "operator", origin: "chat", content: "Through the gateway" };
let before = await sandboxRequests();
const sent = await settle(replier.website.sendMessageInConversation(website, session, message));
gatewayRequests += 1;
check(
  sent.ok && Number.isInteger(sent.data.fingerprint) && (await sandboxRequests()) === before + 1,
  "sendMessageInConversation by an agent granted messages=read-write is sent",
  JSON.stringify(sent)
);

// 2. A write outside its grants: 403 not_allowed, nothing sent.
before = await sandboxRequests();
for (const [name, call] of [
  ["sendMessageInConversation", (c) => c.website.sendMessageInConversation(website, session, message)],
  ["removeConversation", (c) => c.website.removeConversation(website, session)],
  ["updatePeopleProfile", (c) => c.website.updatePeopleProfile(website, people, { email: "x@example.com" })],
]) {
  const refused = await settle(call(reader));
  gatewayRequests += 1;
  check(
    !refused.ok && refused.error.code === 403 && refused.error.message === "not_allowed",
    `${name} by a read-only agent is refused with 403 not_allowed`,
    JSON.stringify(refused)
  );
}
check((await sandboxRequests()) === before, "no refused write reached the sandbox");

// 3. A website outside its list: 403.
before = await sandboxRequests();
const elsewhere = client("elsewhere", agents.elsewhere.key);
const outside = await settle(elsewhere.website.listConversations(website, 1));
gatewayRequests += 1;
check(
  !outside.ok && outside.error.code === 403 && outside.error.message === "not_allowed",
  "a website outside the agent's list is refused with 403 not_allowed",
  JSON.stringify(outside)
);
check((await sandboxRequests()) === before, "the refused website call did not reach the sandbox");

// 4. The budget: three calls, then 429 with Retry-After.
const thrifty = client("thrifty", agents.thrifty.key);
before = await sandboxRequests();
const spent = [];
for (let i = 0; i < 4; i += 1) {
  spent.push(await settle(thrifty.website.getWebsiteSettings(website)));
  gatewayRequests += 1;
}
check(spent.slice(0, 3).every((r) => r.ok), "the first three calls of a budget of 3 work");
check(
  !spent[3].ok && spent[3].error.code === 429 && spent[3].error.message === "rate_limited",
  "the fourth call is refused with 429 rate_limited",
  JSON.stringify(spent[3])
);
const raw = await fetch(`${gatewayUrl}/website/${website}/settings`, {
  headers: {
    Authorization: `Basic ${Buffer.from(`thrifty:${agents.thrifty.key}`).toString("base64")}`,
    "X-Crisp-Tier": "plugin",
  },
});
gatewayRequests += 1;
const retryAfter = Number(raw.headers.get("retry-after"));
const body = await raw.json();
check(
  raw.status === 429 && retryAfter >= 1 && retryAfter <= 86400 && body.error === true && body.reason === "rate_limited",
  "the spent budget answers 429 with Retry-After and Crisp's envelope",
  `${raw.status} Retry-After ${raw.headers.get("retry-after")} ${JSON.stringify(body)}`
);
check((await sandboxRequests()) === before + 3, "only the budget's three calls reached the sandbox");

// 5. SIGINT: the gateway writes its audit log and exits 0; the log has a row per request.
gateway.child.kill("SIGINT");
const [code] = await once(gateway.child, "exit");
check(code === 0, "SIGINT stops the gateway cleanly", `exit ${code}`);
const audit = execFileSync(gatewayBinary, ["audit", "--data", data, "--json", "--limit", "1000"], {
  env: withoutCrisp,
  encoding: "utf8",
});
const rows = audit.trim().split("\n").map((line) => JSON.parse(line));
const refusedRows = rows.filter((row) => row.decision === "refused");
check(rows.length === gatewayRequests, `the audit log has one row per request (${gatewayRequests})`, `${rows.length} rows`);
check(
  refusedRows.length === 6 &&
    refusedRows.filter((row) => row.why === "grants").length === 3 &&
    refusedRows.filter((row) => row.why === "website").length === 1 &&
    refusedRows.filter((row) => row.why === "budget").length === 2,
  "the audit log says who was refused and why",
  JSON.stringify(refusedRows.map((row) => [row.agent, row.why]))
);
check(!audit.includes(upstreamKey) && Object.values(agents).every((a) => !audit.includes(a.key)), "no key is in the audit log");

sandbox.child.kill("SIGINT");
await once(sandbox.child, "exit");
console.log(`\n${checks - failures} passed, ${failures} failed`);
process.exit(failures === 0 ? 0 : 1);
