/**
 * Frames off a byte stream: the length prefix of PROTOCOL §2, across any split of the stream.
 *
 * ```text
 * chunk 1: 00 00 00 | chunk 2: 03 08 01 | chunk 3: 00 00 00 00 02 17 05
 *          \______ length 3 ___/ body     \_ end __/ \___ next frame ___/
 * ```
 *
 * A frame that lies within one chunk is handed on as a view of that chunk, with no copy; a
 * frame split across chunks is gathered into one buffer of the announced size, allocated only
 * once the whole prefix is known and checked against the limit.
 */

import { WireError } from "./errors";
import { FRAME_HEADER_LEN } from "./limits";

/** Receives each frame's body; returns `false` to stop decoding (the stream is given up). */
export type FrameSink = (body: Buffer) => boolean;

/** Splits a byte stream into frame bodies of at most `limit` bytes. */
export class FrameDecoder {
  private readonly header = Buffer.alloc(FRAME_HEADER_LEN);
  private headerHave = 0;
  private body: Buffer | null = null;
  private bodyHave = 0;

  constructor(
    private readonly limit: number,
    private readonly sink: FrameSink,
  ) {}

  /** Whether the stream stopped inside a frame: an end of stream now is `Truncated`. */
  get inFrame(): boolean {
    return this.headerHave > 0 || this.body !== null;
  }

  /**
   * Feeds the next chunk of the stream, handing every complete frame to the sink.
   *
   * @throws WireError `FrameTooLarge` as soon as a length prefix announces more than the
   *   limit, before any byte of that body is awaited.
   */
  push(chunk: Buffer): void {
    const n = chunk.length;
    let pos = 0;
    while (pos < n) {
      let body = this.body;
      if (body === null) {
        let length: number;
        if (this.headerHave === 0 && n - pos >= FRAME_HEADER_LEN) {
          length = chunk.readUInt32BE(pos);
          pos += FRAME_HEADER_LEN;
        } else {
          const take = Math.min(FRAME_HEADER_LEN - this.headerHave, n - pos);
          chunk.copy(this.header, this.headerHave, pos, pos + take);
          this.headerHave += take;
          pos += take;
          if (this.headerHave < FRAME_HEADER_LEN) {
            return;
          }
          this.headerHave = 0;
          length = this.header.readUInt32BE(0);
        }
        if (length > this.limit) {
          throw new WireError("FrameTooLarge");
        }
        if (n - pos >= length) {
          const whole = chunk.subarray(pos, pos + length);
          pos += length;
          if (!this.sink(whole)) {
            return;
          }
          continue;
        }
        body = this.body = Buffer.allocUnsafe(length);
        this.bodyHave = 0;
      }
      const take = Math.min(body.length - this.bodyHave, n - pos);
      chunk.copy(body, this.bodyHave, pos, pos + take);
      this.bodyHave += take;
      pos += take;
      if (this.bodyHave === body.length) {
        this.body = null;
        if (!this.sink(body)) {
          return;
        }
      }
    }
  }
}
