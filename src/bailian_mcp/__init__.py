"""bailian-mcp: Alibaba Bailian (DashScope) generation models as MCP tools."""

__version__ = "0.1.0"
