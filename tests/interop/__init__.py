"""Agent frameworks' own MCP clients against the real `bailian-mcp` over stdio (openai-agents, pydantic-ai,
llama-index, and langchain-mcp-adapters from its own environment), with the emulator on loopback and no model calls."""
