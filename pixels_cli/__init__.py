"""The `pixels` command: one dispatcher above the engine, the server and the client."""
