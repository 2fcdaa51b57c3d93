"""A stateless MCP server (the MCP Python SDK's FastMCP, streamable HTTP, JSON responses) for the
tools/call rows of benches/gateway/run: one tool, `echo`. No authentication: nginx and
`jwtgate serve` in front of it do that.

    python mcp_server.py <port>
"""

import sys

import uvicorn
from mcp.server.fastmcp import FastMCP

mcp = FastMCP("gateway-bench", stateless_http=True, json_response=True)


@mcp.tool()
def echo(text: str = "") -> str:
    """Returns its argument."""
    return text


if __name__ == "__main__":
    uvicorn.run(
        mcp.streamable_http_app(),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        access_log=False,
    )
