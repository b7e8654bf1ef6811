"""The stream processing engine: messages, nodes, executing tasks and routing."""
