"""A real MCP host: the `mcp` package from PyPI launches `recagent mcp` over
stdio, lists its tools, asks for films, follows up, and prints what it saw
as one JSON object for the Rust test to check."""

import asyncio
import json
import os

from mcp import ClientSession, StdioServerParameters, stdio_client


def result(r):
    return {
        "is_error": r.is_error,
        "text": r.content[0].text if r.content else None,
        "structured": r.structured_content,
    }


async def main():
    server = StdioServerParameters(
        command=os.environ["RECAGENT_BIN"],
        args=json.loads(os.environ["RECAGENT_ARGS"]),
        env={"RECAGENT_HOME": os.environ["RECAGENT_HOME"]},
    )
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write) as session:
            init = await session.initialize()
            tools = (await session.list_tools()).tools
            # The client checks structured content against the tool's
            # output schema on every successful call.
            first = await session.call_tool("recommend", {"text": os.environ["REQUEST"]})
            second = await session.call_tool("recommend", {"text": "something else"})
            bad = await session.call_tool("recommend", {"text": ""})
            profile = await session.call_tool("show_profile", {})
    print(
        json.dumps(
            {
                "server": {
                    "name": init.server_info.name,
                    "protocol": init.protocol_version,
                    "instructions": init.instructions,
                },
                "tools": [
                    {
                        "name": t.name,
                        "read_only": t.annotations.read_only_hint if t.annotations else None,
                        "destructive": t.annotations.destructive_hint if t.annotations else None,
                        "has_output_schema": t.output_schema is not None,
                    }
                    for t in tools
                ],
                "first": result(first),
                "second": result(second),
                "bad": result(bad),
                "profile": result(profile),
            }
        )
    )


asyncio.run(main())
