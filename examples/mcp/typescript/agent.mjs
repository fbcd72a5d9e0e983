// Drives examples/mcp with the MCP TypeScript SDK's own OAuth client:
// discovery from the 401, Dynamic Client Registration, PKCE, the person's
// consent (a browser with their session cookie), token, tool calls, and
// step-up for a scope. Usage:
//   node agent.mjs <mcp-url> <cookie-name>=<session> [title] (run.sh builds and starts both)
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";

const [mcpURL, cookie, title = "Written through the TypeScript SDK"] = process.argv.slice(2);
const appOrigin = new URL(mcpURL).origin;
const redirectURL = "http://127.0.0.1:33419/callback";
const log = (...a) => console.log("agent:", ...a);

// The SDK's OAuthClientProvider, kept in memory.
let client, tokens, verifier, pending;
const provider = {
  get redirectUrl() { return redirectURL; },
  get clientMetadata() {
    return { client_name: "TypeScript SDK agent", redirect_uris: [redirectURL], grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"], token_endpoint_auth_method: "none" };
  },
  clientInformation: () => client,
  saveClientInformation: (c) => { client = c; log("registered as", c.client_id); },
  tokens: () => tokens,
  saveTokens: (t) => { tokens = t; log("got tokens: scope", JSON.stringify(t.scope), "refresh token", !!t.refresh_token); },
  redirectToAuthorization: (u) => { pending = u; log("sends the person to", u.origin + u.pathname); },
  saveCodeVerifier: (v) => { verifier = v; },
  codeVerifier: () => verifier,
};

// The person in a browser: opens the consent page, reads it, allows.
async function consent(u) {
  const headers = { cookie };
  let res = await fetch(u, { headers, redirect: "manual" });
  const page = await res.text();
  if (res.status !== 200 || !page.includes('id="consent"')) throw new Error(`consent page: ${res.status} ${page.slice(0, 300)}`);
  const scopes = [...page.matchAll(/<li>(?:<strong>([a-z:_]+)<\/strong>|<s>([a-z:_]+)<\/s>)/g)].map((m) => m[1] || `${m[2]} (not grantable)`);
  log("consent page shows", (page.match(/id="client-name">([^<]+)/) || [])[1], "asking for", scopes.join(", "));
  const form = new URLSearchParams({ decision: "approve" });
  for (const m of page.matchAll(/<input type="hidden" name="([a-z_]+)" value="([^"]*)">/g)) form.append(m[1], m[2].replaceAll("&#43;", "+"));
  res = await fetch(appOrigin + "/oauth/authorize", { method: "POST", body: form, redirect: "manual",
    headers: { ...headers, origin: appOrigin, "content-type": "application/x-www-form-urlencoded" } });
  const back = new URL(res.headers.get("location"));
  if (res.status !== 303 || back.origin + back.pathname !== redirectURL) throw new Error(`approve: ${res.status} ${back}`);
  return back.searchParams.get("code");
}

// run retries fn after the person consents, as an MCP client app does
// when its callback receives the code.
async function run(what, fn, transport) {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (!(e instanceof UnauthorizedError) || !pending || i > 1) throw e;
      log(what, "needs authorization");
      const code = await consent(pending);
      pending = undefined;
      await transport.finishAuth(code);
    }
  }
}

let transport, mcp;
for (let i = 0; ; i++) { // each attempt on a new transport, as the SDK asks
  transport = new StreamableHTTPClientTransport(new URL(mcpURL), { authProvider: provider });
  mcp = new Client({ name: "ts-agent", version: "1.0.0" });
  try {
    await mcp.connect(transport);
    break;
  } catch (e) {
    if (!(e instanceof UnauthorizedError) || !pending || i > 0) throw e;
    log("connect needs authorization");
    const code = await consent(pending);
    pending = undefined;
    await transport.finishAuth(code);
  }
}
log("connected; tools:", (await mcp.listTools()).tools.map((t) => t.name).join(", "));
log("list_documents:", JSON.stringify((await mcp.callTool({ name: "list_documents", arguments: {} })).structuredContent));
try {
  const r = await run("add_document", () => mcp.callTool({ name: "add_document", arguments: { title } }), transport);
  log("add_document:", JSON.stringify(r.structuredContent ?? r.content));
} catch (e) {
  log("add_document refused:", e.message);
  process.exitCode = 1;
}
log("list_documents:", JSON.stringify((await mcp.callTool({ name: "list_documents", arguments: {} })).structuredContent));
await mcp.close();
