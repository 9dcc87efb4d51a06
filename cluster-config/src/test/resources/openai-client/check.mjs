// Drives an Orrery node with the official OpenAI client, as a user of the SDK would.
// Usage: node check.mjs <base-url ending in /v1> <an Orrery API key>. Prints what it saw; exits non-zero
// on any mismatch.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: process.argv[3] });
const fail = (msg) => { console.error("FAIL " + msg); process.exit(1); };

const models = await client.models.list();
const ids = models.data.map((m) => m.id);
if (!ids.includes("default")) fail("models lack the default route: " + ids);

const completion = await client.chat.completions.create({
  model: "default",
  messages: [{ role: "user", content: "Say hello to the SDK" }],
});
const text = completion.choices[0].message.content;
if (!text || !text.includes("Say hello to the SDK")) fail("completion text: " + text);
if (!(completion.usage.prompt_tokens > 0)) fail("usage: " + JSON.stringify(completion.usage));
console.log("completion ok: " + text);

const stream = await client.chat.completions.create({
  model: "default",
  messages: [{ role: "user", content: "Stream to the SDK" }],
  stream: true,
  stream_options: { include_usage: true },
});
let streamed = "";
let usage = null;
for await (const chunk of stream) {
  if (chunk.choices.length > 0 && chunk.choices[0].delta.content) streamed += chunk.choices[0].delta.content;
  if (chunk.usage) usage = chunk.usage;
}
if (!streamed.includes("Stream to the SDK")) fail("streamed text: " + streamed);
if (!usage || !(usage.completion_tokens > 0)) fail("stream usage: " + JSON.stringify(usage));
console.log("stream ok: " + streamed);

try {
  await client.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] });
  fail("an unknown model was accepted");
} catch (e) {
  if (!(e instanceof OpenAI.NotFoundError)) fail("unknown model raised " + e);
  console.log("error ok: " + e.status + " " + e.code);
}

const stranger = new OpenAI({ baseURL: process.argv[2], apiKey: "not-a-key", maxRetries: 0 });
try {
  await stranger.models.list();
  fail("a wrong API key was accepted");
} catch (e) {
  if (!(e instanceof OpenAI.AuthenticationError)) fail("a wrong API key raised " + e);
  console.log("auth ok: " + e.status + " " + e.code);
}
console.log("ALL OK");
