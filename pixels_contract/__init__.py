"""The edit contract: what an edit is and how it travels, written once for every front end.

- `schema`: every edit parameter (type, default, bounds, choices, unit, label, help), the
  map convention and the seed range; the CLI's flags, the server's checks, GIMP's
  procedure arguments, Krita's docker and docs/protocol.md are built from it.
- `messages`: the edit channel's messages as dataclasses, to and from the wire.
- `protocol`: the channel's two sides as sans-I/O state machines (bytes and messages
  in, events and bytes out), which the server's and the client's I/O layers wrap.
- `png`: the images' wire format, read and written with the standard library.

Standard library only: GIMP's and Krita's Python carry a copy of this package.
"""
