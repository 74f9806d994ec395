// Streams chat through Sluice with the official OpenAI Node client and prints what it saw as one JSON line.
import OpenAI from "openai";

const client = new OpenAI({ baseURL: process.argv[2], apiKey: "sluice", maxRetries: 0, timeout: 30000 });
const out = {};

const stream = await client.chat.completions.create({
  model: "llama-3-8b", max_tokens: 9, stream: true, stream_options: { include_usage: true },
  messages: [{ role: "system", content: "You are terse." }, { role: "user", content: "Stream please" }] });
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

const chat = await client.chat.completions.create({
  model: "llama-3-8b", max_tokens: 5, messages: [{ role: "user", content: "Hi" }] });
out.chatRole = chat.choices[0].message.role;
out.chatContent = chat.choices[0].message.content;
out.chatModel = chat.model;

try {
  await client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] });
  out.notFound = "no error";
} catch (e) {
  out.notFound = e.status;
  out.notFoundMessage = e.error?.message ?? e.message;
}
console.log(JSON.stringify(out));
