/**
 * The wire format of protocol v2 (PROTOCOL.md §2–§6, §9): framing, a hand-written postcard
 * codec and the v2 messages.
 *
 * <p>Every message travels as one frame:
 *
 * <pre>
 * +----------------------+------------------------------------------+
 * | length: u32, big-end |  body: `length` bytes                    |
 * |      (4 bytes)       |  exactly one postcard-encoded message    |
 * +----------------------+------------------------------------------+
 *
 * Ping with id 20:   00 00 00 02 | 14 (id 20, varint) | 05 (request tag 5 = Ping)
 * </pre>
 *
 * <p>Inside the body, integers are unsigned LEB128 varints (least significant group first),
 * strings a varint byte length and UTF-8, {@code Option} a {@code 00}/{@code 01} tag, enums a
 * varint tag then their fields, sequences a varint count then their elements. Decoders accept
 * over-long varints within the type's width; encoders write the shortest form.
 *
 * <p>This package is public so that tests and tools (the benchmark) can build frames; node code
 * never needs it. {@link dev.ax.secrets.AxiomContext} is the API.
 */
package dev.ax.secrets.wire;
