// Drives real agents and SDKs (installed by bench/agents.sh into bench/.agents) against a running quickstart gateway,
// each with a key of its own, and compares the usage each one reports with Purser's usage records for that key
// (GET /admin/usage). Prints one JSON line per scenario; bench/agents.sh turns them into the results table.
//
//   PURSER_URL=http://127.0.0.1:18180 PURSER_ADMIN_KEY=... node bench/agents.mjs [scenario ...]
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, '.agents', 'node_modules');
const require = createRequire(join(here, '.agents', 'package.json'));
const load = async (name) => import(require.resolve(name));
const url = process.env.PURSER_URL ?? 'http://127.0.0.1:18180';
const admin = process.env.PURSER_ADMIN_KEY;
const model = process.env.AGENTS_MODEL ?? 'sim-chat';
const timeoutMs = Number(process.env.AGENTS_TIMEOUT_MS ?? 120000);

async function adminFetch(path, init = {}) {
  const response = await fetch(url + path, { ...init, headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

async function newKey(id) {
  return (await adminFetch('/admin/keys', { method: 'POST', body: JSON.stringify({ id }) })).secret;
}

/** Purser's records of a key, once the usage sink has written them all (no new record for a second). */
async function records(keyId) {
  let last = -1;
  for (let i = 0; i < 20; i++) {
    const data = (await adminFetch(`/admin/usage?key_id=${encodeURIComponent(keyId)}&limit=1000`)).data;
    if (data.length === last && data.length > 0) return data;
    last = data.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return (await adminFetch(`/admin/usage?key_id=${encodeURIComponent(keyId)}&limit=1000`)).data;
}

function run(command, args, env, cwd) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 30000);
    child.on('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
  });
}

const withTimeout = (promise) => Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs))]);

// Each scenario: (key) => { reported: { input, output } | null, detail }.
const scenarios = {
  async 'codex exec (tool loop)'(key) {
    const home = mkdtempSync(join(tmpdir(), 'purser-codex-'));
    const work = join(home, 'work');
    mkdirSync(work);
    const result = await run(join(modules, '.bin', 'codex'), [
      'exec', '--skip-git-repo-check', '--json', '-s', 'read-only', '-m', model,
      '-c', 'model_provider=purser',
      '-c', `model_providers.purser={name="Purser",base_url="${url}/v1",env_key="PURSER_KEY",wire_api="responses"}`,
      'List the files here with a shell command, then tell me what you saw.',
    ], { CODEX_HOME: home, PURSER_KEY: key }, work);
    const events = result.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    const tools = events.filter((e) => e.type === 'item.completed' && e.item?.type === 'command_execution').length;
    const answer = events.some((e) => e.type === 'item.completed' && e.item?.type === 'agent_message');
    let input = 0; let output = 0; let turns = 0;
    for (const e of events.filter((x) => x.type === 'turn.completed')) { input += e.usage.input_tokens; output += e.usage.output_tokens; turns++; }
    if (result.code !== 0 || turns === 0 || tools === 0 || !answer) {
      throw new Error(`codex exit ${result.code ?? result.signal}, ${turns} turns, ${tools} tool calls, answer ${answer}: ${result.stderr.slice(-400)}`);
    }
    return { reported: { input, output }, detail: `${tools} tool call(s), then an answer` };
  },

  async 'AI SDK generateText (default provider = Responses)'(key) {
    const { generateText } = await load('ai');
    const { createOpenAI } = await load('@ai-sdk/openai');
    const openai = createOpenAI({ baseURL: `${url}/v1`, apiKey: key });
    const result = await withTimeout(generateText({ model: openai(model), prompt: 'Say hello.' }));
    return { reported: { input: result.usage.inputTokens, output: result.usage.outputTokens }, detail: `${result.text.length} chars` };
  },

  async 'AI SDK streamText'(key) {
    const { streamText } = await load('ai');
    const { createOpenAI } = await load('@ai-sdk/openai');
    const openai = createOpenAI({ baseURL: `${url}/v1`, apiKey: key });
    const result = streamText({ model: openai(model), prompt: 'Stream hello.' });
    let text = '';
    await withTimeout((async () => { for await (const part of result.textStream) text += part; })());
    const usage = await result.usage;
    return { reported: { input: usage.inputTokens, output: usage.outputTokens }, detail: `${text.length} chars streamed` };
  },

  async 'Agents SDK run (default model API, tool loop)'(key) {
    const agents = await load('@openai/agents');
    const { default: OpenAI } = await load('openai');
    const { z } = await load('zod');
    agents.setDefaultOpenAIClient(new OpenAI({ baseURL: `${url}/v1`, apiKey: key }));
    agents.setTracingDisabled(true);
    const weather = agents.tool({
      name: 'get_weather',
      description: 'The weather in a city.',
      parameters: z.object({ city: z.string() }),
      execute: async ({ city }) => `It is sunny in ${city}.`,
    });
    const agent = new agents.Agent({ name: 'Assistant', instructions: 'Answer briefly.', model, tools: [weather] });
    const result = await withTimeout(agents.run(agent, 'What is the weather in Paris?'));
    const usage = result.state.usage;
    const calls = result.newItems.filter((item) => item.type === 'tool_call_item').length;
    if (calls === 0 || !result.finalOutput) throw new Error(`no tool loop: ${calls} tool calls, output ${JSON.stringify(result.finalOutput)}`);
    return { reported: { input: usage.inputTokens, output: usage.outputTokens }, detail: `${usage.requests} requests, ${calls} tool call(s)` };
  },

  async 'Agents SDK run (streamed)'(key) {
    const agents = await load('@openai/agents');
    const { default: OpenAI } = await load('openai');
    agents.setDefaultOpenAIClient(new OpenAI({ baseURL: `${url}/v1`, apiKey: key }));
    agents.setTracingDisabled(true);
    const agent = new agents.Agent({ name: 'Assistant', instructions: 'Answer briefly.', model });
    const result = await withTimeout(agents.run(agent, 'Say hello.', { stream: true }));
    let text = '';
    await withTimeout((async () => { for await (const chunk of result.toTextStream()) text += chunk; })());
    await result.completed;
    const usage = result.state.usage;
    return { reported: { input: usage.inputTokens, output: usage.outputTokens }, detail: `${text.length} chars streamed` };
  },

  async 'LangChain invoke (useResponsesApi)'(key) {
    const { ChatOpenAI } = await load('@langchain/openai');
    const llm = new ChatOpenAI({ model, apiKey: key, configuration: { baseURL: `${url}/v1` }, useResponsesApi: true, maxRetries: 0 });
    const message = await withTimeout(llm.invoke('Say hello.'));
    return { reported: { input: message.usage_metadata.input_tokens, output: message.usage_metadata.output_tokens }, detail: `${String(message.content?.length ?? 0)} content part(s)` };
  },

  async 'LangChain stream (useResponsesApi)'(key) {
    const { ChatOpenAI } = await load('@langchain/openai');
    const llm = new ChatOpenAI({ model, apiKey: key, configuration: { baseURL: `${url}/v1` }, useResponsesApi: true, maxRetries: 0 });
    let whole;
    await withTimeout((async () => { for await (const chunk of await llm.stream('Stream hello.')) whole = whole ? whole.concat(chunk) : chunk; })());
    return { reported: { input: whole.usage_metadata.input_tokens, output: whole.usage_metadata.output_tokens }, detail: 'chunks concatenated' };
  },

  async 'Claude Code claude -p (OpenAI-format model)'(key) {
    // Its tools are limited to Read: the simulator answers with a call of the first tool it is offered, and Claude
    // Code's first would start a sub-agent that does the same, until the time limit.
    const home = mkdtempSync(join(tmpdir(), 'purser-claude-'));
    const result = await run(join(modules, '.bin', 'claude'), ['-p', 'Read the file notes.txt and say what it holds.', '--output-format', 'json', '--model', model, '--tools', 'Read'], {
      HOME: home,
      ANTHROPIC_BASE_URL: url,
      ANTHROPIC_API_KEY: key,
      ANTHROPIC_SMALL_FAST_MODEL: model,
      ANTHROPIC_DEFAULT_HAIKU_MODEL: model,
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_AUTOUPDATER: '1',
    }, home);
    const json = JSON.parse(result.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}');
    if (result.code !== 0 || json.is_error || json.subtype !== 'success') throw new Error(`claude exit ${result.code ?? result.signal}: ${(result.stdout + result.stderr).slice(-500)}`);
    let input = 0; let output = 0;
    for (const usage of Object.values(json.modelUsage ?? {})) { input += usage.inputTokens + (usage.cacheReadInputTokens ?? 0) + (usage.cacheCreationInputTokens ?? 0); output += usage.outputTokens; }
    return { reported: { input, output }, detail: `${json.num_turns} turn(s)` };
  },
};

// Each scenario runs in a process of its own (an SDK's default client is process-wide), bounded in time.
if (process.argv[2] === '--one') {
  const name = process.argv[3];
  const keyId = `agent-${Date.now().toString(36)}-${Object.keys(scenarios).indexOf(name) + 1}`;
  const line = { scenario: name, key: keyId };
  const started = Date.now();
  try {
    const key = await newKey(keyId);
    const { reported, detail } = await scenarios[name](key);
    const recs = await records(keyId);
    const purser = recs.reduce((sum, r) => ({ input: sum.input + r.input_tokens, output: sum.output + r.output_tokens, cost: sum.cost + Number(r.cost_usd) }), { input: 0, output: 0, cost: 0 });
    Object.assign(line, {
      ok: true, detail, reported,
      purser: { ...purser, cost: purser.cost.toFixed(9), records: recs.length, charged: recs.filter((r) => r.cost_usd !== '0').length, operations: [...new Set(recs.map((r) => r.operation))] },
      match: reported.input === purser.input && reported.output === purser.output,
    });
  } catch (error) {
    Object.assign(line, { ok: false, match: false, error: String(error?.stack ?? error).split('\n').slice(0, 3).join(' | ') });
  }
  line.seconds = Math.round((Date.now() - started) / 100) / 10;
  console.log(JSON.stringify(line));
  process.exit(0);
}

const only = process.argv.slice(2);
for (const name of Object.keys(scenarios)) {
  if (only.length > 0 && !only.some((o) => name.toLowerCase().includes(o.toLowerCase()))) continue;
  const result = await run(process.execPath, [fileURLToPath(import.meta.url), '--one', name], {}, here);
  const line = result.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  console.log(line ?? JSON.stringify({ scenario: name, ok: false, match: false, error: `exit ${result.code ?? result.signal}: ${result.stderr.slice(-400)}` }));
}
