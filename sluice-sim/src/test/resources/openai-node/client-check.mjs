// Drives `sluice sim` with the official OpenAI Node client and prints what it saw as one JSON line.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "sim", maxRetries: 0, timeout: 30000 });
const out = {};

const completion = await client.completions.create({ model: "llama-3-8b", prompt: "Hello", max_tokens: 7 });
out.completionText = completion.choices[0].text;
out.completionTokens = completion.usage.completion_tokens;

const chat = await client.chat.completions.create({
  model: "llama-3-8b", max_tokens: 5, messages: [{ role: "user", content: "Hi" }] });
out.chatRole = chat.choices[0].message.role;
out.chatContent = chat.choices[0].message.content;

const stream = await client.chat.completions.create({
  model: "llama-3-8b", max_tokens: 9, stream: true, stream_options: { include_usage: true },
  messages: [{ role: "user", content: "Stream please" }] });
let streamed = "";
let chunks = 0;
let usage = null;
for await (const chunk of stream) {
  if (chunk.choices.length > 0 && chunk.choices[0].delta.content) {
    streamed += chunk.choices[0].delta.content;
    chunks++;
  }
  if (chunk.usage) {
    usage = chunk.usage;
  }
}
out.streamChunks = chunks;
out.streamText = streamed;
out.streamUsage = usage;

const cstream = await client.completions.create({ model: "llama-3-8b", prompt: "x", max_tokens: 4, stream: true });
let ctext = "";
for await (const chunk of cstream) {
  ctext += chunk.choices[0]?.text ?? "";
}
out.completionStreamText = ctext;

try {
  await client.completions.create({ model: "nope", prompt: "x" });
  out.notFound = "no error";
} catch (e) {
  out.notFound = e.status;
}
console.log(JSON.stringify(out));
