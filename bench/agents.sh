#!/usr/bin/env bash
# Real agents through the gateway, as a new user would run them: installs pinned versions of Codex CLI, the Vercel AI
# SDK, the OpenAI Agents SDK, LangChain and Claude Code from npm into bench/.agents (not committed), starts the
# quickstart (SQLite and the bundled simulated provider, on 127.0.0.1), and drives each with a virtual key of its own
# (bench/agents.mjs): codex exec with a custom Responses provider through a tool loop, AI SDK generateText and
# streamText on the default OpenAI provider (Responses), an Agents SDK run on the default model (Responses) through a
# tool loop and streamed, LangChain invoke and stream with useResponsesApi, and Claude Code `claude -p` on the
# OpenAI-format model sim-chat. For each, the usage the agent reports is compared with Purser's usage records of its
# key (GET /admin/usage). Writes a markdown table to bench/results/agents-<timestamp>.md; exits non-zero on a mismatch
# or a failed agent. Outside the main test command (slow: about a minute of npm installs the first time).
#
#   bench/agents.sh                        every agent
#   bench/agents.sh codex "AI SDK"         the scenarios whose names contain these words
#   AGENTS_CONFIGURATION=Debug bench/agents.sh      use a Debug build (default Release)
set -euo pipefail
cd "$(dirname "$0")/.."
configuration=${AGENTS_CONFIGURATION:-Release}
port=${AGENTS_PORT:-18180}
work=$(mktemp -d)
gateway_pid=
log() { printf '== %s\n' "$*" >&2; }
cleanup() {
  [ -n "$gateway_pid" ] && kill "$gateway_pid" 2>/dev/null || true
  rm -rf "$work" 2>/dev/null || true
}
trap cleanup EXIT

# 1. The agents, pinned. Codex CLI and Claude Code ship their linux-x64 binaries inside npm packages
#    (@openai/codex-linux-x64, @anthropic-ai/claude-code-linux-x64): nothing is downloaded from elsewhere.
packages=(@openai/codex@0.169.0 ai@7.0.173 @ai-sdk/openai@4.0.118 @openai/agents@0.20.0 @langchain/openai@1.6.0
  @langchain/core@1.4.0 @anthropic-ai/claude-code@2.1.328 zod@4.6.7)
stamp="${packages[*]}"
if [ "$(cat bench/.agents/.installed 2>/dev/null)" != "$stamp" ]; then
  log "installing ${packages[*]}"
  mkdir -p bench/.agents
  printf '{ "name": "purser-agents", "private": true, "type": "module" }\n' >bench/.agents/package.json
  (cd bench/.agents && npm install --no-audit --no-fund --save-exact "${packages[@]}" >/dev/null 2>&1)
  printf '%s' "$stamp" >bench/.agents/.installed
fi

# 2. The quickstart, as a real process.
log "building $configuration"
dotnet build src/Purser.Gateway -c "$configuration" -nologo -v quiet -clp:ErrorsOnly >/dev/null
(cd "$work" && exec dotnet "$OLDPWD/src/Purser.Gateway/bin/$configuration/net10.0/purser.dll" serve --urls "http://127.0.0.1:$port" --data "$work/data" >"$work/gateway.log" 2>&1) &
gateway_pid=$!
for _ in $(seq 1 300); do [ -f "$work/data/admin-key.txt" ] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { cat "$work/gateway.log" >&2; echo "the quickstart never listened on $port" >&2; exit 1; }

# 3. The agents, each bounded in time (AGENTS_TIMEOUT_MS, default 120 s).
log "driving the agents"
TMPDIR="$work" PURSER_URL="http://127.0.0.1:$port" PURSER_ADMIN_KEY=$(cat "$work/data/admin-key.txt") node bench/agents.mjs "$@" >"$work/lines.jsonl"

# 4. The table.
mkdir -p bench/results
out="bench/results/agents-$(date -u +%Y%m%dT%H%M%SZ).md"
node - "$work/lines.jsonl" "$out" "$(node --version)" "$configuration" <<'EOF'
const fs = require('node:fs');
const [file, out, nodeVersion, configuration] = process.argv.slice(2);
const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const rows = lines.map((l) => l.ok
  ? `| ${l.scenario} | ${l.detail} | ${l.reported.input} / ${l.reported.output} | ${l.purser.input} / ${l.purser.output} | ${l.purser.records} (${l.purser.operations.join(', ')}) | $${l.purser.cost} | ${l.match ? 'yes' : '**NO**'} | ${l.seconds} |`
  : `| ${l.scenario} | **failed**: ${String(l.error).replace(/\|/g, '/').slice(0, 300)} | | | | | **NO** | ${l.seconds ?? ''} |`);
const text = [
  `# Real agents through the quickstart (${new Date().toISOString()})`,
  '',
  `bench/agents.sh: the quickstart gateway (SQLite, the bundled simulated provider, model sim-chat) on 127.0.0.1 (${configuration} build), node ${nodeVersion}, each agent with a key of its own.`,
  '"reported" is the usage the agent or SDK itself reports (input / output tokens, summed over its requests); "Purser" is the sum of the usage records of its key.',
  '',
  '| agent | what it did | reported in / out | Purser in / out | records | Purser cost | match | s |',
  '|---|---|---|---|---|---|---|---|',
  ...rows,
  '',
  'Notes: Codex CLI runs with a custom provider (`wire_api = "responses"`, the key in `env_key`) and no login; Claude Code with',
  '`ANTHROPIC_BASE_URL` + `ANTHROPIC_API_KEY` and its tools limited to Read (the simulator calls the first tool it is offered).',
  'Codex and Claude Code bring their linux-x64 binaries in npm packages. Several packages declare node >= 22 (npm warns);',
  'they ran on the node shown.',
  '',
].join('\n');
fs.writeFileSync(out, text);
process.stdout.write(text);
process.exit(lines.every((l) => l.ok && l.match) && lines.length > 0 ? 0 : 1);
EOF
