"""The official OpenAI Python SDK against `recagent serve`: listed models,
a reply not streamed, a streamed reply with usage, and the Responses API
streamed and not. Prints one JSON object."""
import json
import os

from openai import OpenAI

client = OpenAI(base_url=os.environ["BASE_URL"], api_key=os.environ["API_KEY"])
out = {"models": [m.id for m in client.models.list()]}

ask = [{"role": "user", "content": "a comedy from the 90s"}]
r = client.chat.completions.create(model="rules", messages=ask, temperature=0.2)
extra = r.model_extra or {}
out["plain"] = {
    "object": r.object,
    "content": r.choices[0].message.content,
    "role": r.choices[0].message.role,
    "finish": r.choices[0].finish_reason,
    "usage": r.usage.model_dump() if r.usage else None,
    "items": len(extra.get("recagent", {}).get("items", [])),
}

stream = client.chat.completions.create(
    model="rules",
    messages=[{"role": "user", "content": "something else, from the 80s"}],
    stream=True,
    stream_options={"include_usage": True},
)
parts, finish, usage, chunks, after_usage = [], None, None, 0, 0
for chunk in stream:
    chunks += 1
    if usage is not None:
        after_usage += 1
    if chunk.choices:
        choice = chunk.choices[0]
        if choice.delta.content:
            parts.append(choice.delta.content)
        if choice.finish_reason:
            finish = choice.finish_reason
    if chunk.usage:
        usage = chunk.usage.model_dump()
out["stream"] = {
    "content": "".join(parts),
    "finish": finish,
    "usage": usage,
    "chunks": chunks,
    "after_usage": after_usage,
}

r = client.responses.create(model="rules", input="a thriller from the 90s")
out["responses"] = {
    "object": r.object,
    "status": r.status,
    "text": r.output_text,
    "usage": r.usage.model_dump() if r.usage else None,
    "items": len((r.model_extra or {}).get("recagent", {}).get("items", [])),
}
kinds, deltas, done = [], [], None
with client.responses.stream(model="rules", input=[{"role": "user", "content": "something else"}]) as s:
    for event in s:
        kinds.append(event.type)
        if event.type == "response.output_text.delta":
            deltas.append(event.delta)
    done = s.get_final_response()
out["responses_stream"] = {
    "kinds": kinds,
    "text": "".join(deltas),
    "final": done.output_text if done else None,
    "status": done.status if done else None,
}

try:
    client.chat.completions.create(model="rules", messages=ask, n=3)
    out["bad_n"] = None
except Exception as e:  # the SDK raises BadRequestError for a 400
    out["bad_n"] = {"type": type(e).__name__, "status": getattr(e, "status_code", None)}
print(json.dumps(out))
