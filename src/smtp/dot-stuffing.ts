/**
 * Dot-stuffing for the DATA phase (RFC 5321 §4.5.2) over pre-built messages: native `Buffer.indexOf` finds the few
 * places to escape, and the message goes out as slices of itself (no per-byte loop, no copy).
 */

const CRLF = Buffer.from('\r\n', 'ascii');
const DOT = Buffer.from('.', 'ascii');
/** The terminating line of the DATA phase. */
export const END_OF_DATA = Buffer.from('.\r\n', 'ascii');
const LF_DOT = Buffer.from('\n.', 'ascii');
const CR_DOT = Buffer.from('\r.', 'ascii');

/** Shared chunks at least this large have their inner dot-stuffing computed once and reused (by identity). */
const CACHED_CHUNK_BYTES = 4_096;
const innerSlicesCache = new WeakMap<Buffer, Buffer[]>();

/**
 * Dot-stuffing inside one chunk, independent of its neighbours: every "\n." after the first byte and every "\r."
 * (a bare CR) gets its dot doubled, a bare line break before a dot becoming CRLF. A "\n." at index 0 is left to the
 * caller, which knows whether the previous chunk ended with a CR.
 */
function innerSlices(chunk: Buffer): Buffer[] {
  let lf = chunk.indexOf(LF_DOT, 1);
  let cr = chunk.indexOf(CR_DOT);
  // The common case: nothing to escape, the chunk goes out as it is (no view allocated).
  if (lf === -1 && cr === -1) return [chunk];
  const slices: Buffer[] = [];
  let start = 0;
  while (lf !== -1 || cr !== -1) {
    const at = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
    if (at === lf && chunk[at - 1] === 0x0d) {
      slices.push(chunk.subarray(start, at + 1));
    } else {
      if (at > start) slices.push(chunk.subarray(start, at));
      slices.push(CRLF);
    }
    slices.push(DOT);
    start = at + 1;
    if (at === lf) lf = chunk.indexOf(LF_DOT, start);
    if (at === cr) cr = chunk.indexOf(CR_DOT, start);
  }
  if (start < chunk.length) slices.push(chunk.subarray(start));
  return slices;
}

/**
 * The message's bytes as the DATA phase sends them: a dot at the start of a line doubled, a final CRLF ensured, and
 * the terminating `.`. A bare CR or LF right before a dot becomes CRLF first (as nodemailer does), so no receiver
 * can read an early end of data whatever it takes for a line end. Takes the message whole or in chunks (see
 * `RenderedMessage.chunks`; chunks of 4 KB or more are treated as immutable and their stuffing is reused). Returns
 * slices of the input plus a few constant buffers; nothing is copied.
 */
export function dotStuffedSlices(message: Buffer | readonly Buffer[]): Buffer[] {
  const chunks = Buffer.isBuffer(message) ? [message] : message;
  const isShared = !Buffer.isBuffer(message);
  const out: Buffer[] = [];
  // The last two bytes of the input so far (-1: none yet).
  let last = -1;
  let beforeLast = -1;
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    let slices: Buffer[];
    if (isShared && chunk.length >= CACHED_CHUNK_BYTES) {
      slices = innerSlicesCache.get(chunk) ?? innerSlices(chunk);
      innerSlicesCache.set(chunk, slices);
    } else {
      slices = innerSlices(chunk);
    }
    const endsWithBareBreak = last === 0x0d || (last === 0x0a && beforeLast !== 0x0d);
    if (chunk[0] === 0x2e) {
      // A dot opening this chunk opens a line when the message starts here or the previous chunk ended a line.
      if (last === -1 || (last === 0x0a && beforeLast === 0x0d)) {
        out.push(DOT);
      } else if (endsWithBareBreak) {
        const previous = out.pop() as Buffer;
        if (previous.length > 1) out.push(previous.subarray(0, previous.length - 1));
        out.push(CRLF, DOT);
      }
      for (const slice of slices) out.push(slice);
    } else if (chunk[0] === 0x0a && chunk[1] === 0x2e) {
      // "\n." at the start of this chunk: a CRLF line start when the previous chunk ended with CR, else a bare LF.
      const first = slices[0] as Buffer;
      out.push(last === 0x0d ? first.subarray(0, 1) : CRLF, DOT, first.subarray(1), ...slices.slice(1));
    } else {
      for (const slice of slices) out.push(slice);
    }
    if (chunk.length >= 2) {
      beforeLast = chunk[chunk.length - 2] as number;
      last = chunk[chunk.length - 1] as number;
    } else {
      beforeLast = last;
      last = chunk[0] as number;
    }
  }
  if (last !== 0x0a || beforeLast !== 0x0d) out.push(CRLF);
  out.push(END_OF_DATA);
  return out;
}
