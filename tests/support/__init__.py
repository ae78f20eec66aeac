"""Helpers the test modules share: plain functions, classes and constants, imported by the test modules and by the
conftest files (which hold only fixtures and hooks). Nothing here is collected as a test.

  * media: pictures, recordings and MP3 frames to feed the tools and the emulator; MP4 facts read back
  * recordings: the recorded exchanges with the real DashScope
  * services: isolated settings, the server's services with shrunk timings, an MCP client on a built server
  * emulators: emulator configurations for loopback runs, the emulator's request log, a loopback file server
  * emulator_app: the emulator app in process on a fake clock, its endpoints and error shapes
  * spawned: `bailian-mcp` as a subprocess: its entry point, free ports, HTTP servers started and stopped
  * commands: the CLI's subcommands run in process
  * sambert: a fake Sambert WebSocket server that answers like the recordings
  * fuzz: the fuzz suites' targets, strategies and checks
"""
