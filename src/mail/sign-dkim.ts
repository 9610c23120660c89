/**
 * DKIM signing (RFC 6376) of a finished message: relaxed/relaxed canonicalization, `rsa-sha256` and, as a second
 * signature, `ed25519-sha256` (RFC 8463). Pure: bytes and keys in, header lines out; no I/O.
 *
 * The body hash is computed by a streaming canonicalizer whose state can be copied (`Hash.copy()` plus four small
 * fields), and whose input may be canonicalized ahead of time: the composer canonicalizes the frozen parts of a
 * message once and, per reader, feeds only the reader's own values (see `compose-message.ts`). Canonicalization is
 * exact for any bytes: whitespace runs become one SP, whitespace at the end of a line goes, empty lines at the end of
 * the body go, and a body that does not end with CRLF gets one. Only CRLF ends a line (a lone CR or LF is content),
 * and whitespace at the very end of a body without a final CRLF stays as one SP, exactly as dkimpy canonicalizes
 * (our messages always end with CRLF).
 */
import { createHash, sign, type Hash, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

/** `crypto.sign` with a callback: the private-key operation runs on libuv's thread pool, off the event loop. */
const signOffThread = promisify(sign);

/** A signing algorithm; the key's type decides it. */
export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

/** One signing key: `s=` selector under `d=` domain. */
export interface DkimKey {
  domain: string;
  selector: string;
  /** An RSA key (signs `rsa-sha256`) or an Ed25519 key (signs `ed25519-sha256`). */
  privateKey: KeyObject;
}

/**
 * Headers signed when present, in this order (RFC 8058 requires List-Unsubscribe and List-Unsubscribe-Post). Every
 * instance present is signed; From is also listed once more than it occurs, so nobody can add a second From without
 * breaking the signature.
 */
export const DKIM_SIGNED_HEADERS = [
  'from',
  'reply-to',
  'to',
  'cc',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'list-id',
  'list-unsubscribe',
  'list-unsubscribe-post',
  // Gmail's feedback loop trusts a Feedback-ID only when the sender's signature covers it.
  'feedback-id',
] as const;

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Buffer.from('\r\n', 'ascii');
const HEADER_END = Buffer.from('\r\n\r\n', 'ascii');

/** Where a canonicalizer stands between two pieces of a body. */
interface CanonicalState {
  /** Whitespace seen on the current line and not written yet (it becomes one SP if content follows on the line). */
  hasPendingSpace: boolean;
  /** Line ends not written yet: they are written only if content follows (empty lines at the end are dropped). */
  pendingLineEnds: number;
  /** The previous piece ended in a CR that may start a CRLF. */
  hasPendingCr: boolean;
  /** Some content has been written (then the canonical body ends with one CRLF). */
  hasContent: boolean;
}

/** A piece of a body canonicalized once, as if it started a body; `RelaxedBodyHasher.writeCanonical` splices it. */
export interface CanonicalPiece {
  /** The piece as it is, for the rare state the canonical form cannot be spliced into. */
  readonly raw: Buffer;
  /** What the piece writes from a fresh state. */
  readonly output: Buffer;
  /** The state the piece leaves behind from a fresh state. */
  readonly after: Readonly<CanonicalState>;
}

/** Canonicalizes a body (relaxed, RFC 6376 §3.4.4) as it streams in, into SHA-256 (or into a list of buffers). */
export class RelaxedBodyHasher {
  private constructor(
    private readonly sink: Hash | Buffer[],
    private state: CanonicalState,
  ) {}

  /** A fresh hasher. */
  static create(): RelaxedBodyHasher {
    return new RelaxedBodyHasher(createHash('sha256'), freshState());
  }

  /** Canonicalizes a piece ahead of time (see `CanonicalPiece`). */
  static canonicalize(raw: Buffer): CanonicalPiece {
    const collector = new RelaxedBodyHasher([], freshState());
    collector.write(raw);
    return { raw, output: Buffer.concat(collector.sink as Buffer[]), after: { ...collector.state } };
  }

  /** The canonical body of `chunks` (for tests and checks). */
  static canonicalBody(chunks: readonly Buffer[]): Buffer {
    const collector = new RelaxedBodyHasher([], freshState());
    for (const chunk of chunks) collector.write(chunk);
    collector.finish();
    return Buffer.concat(collector.sink as Buffer[]);
  }

  /** An independent hasher in the same state: the shared prefix of many readers' bodies is hashed once. */
  copy(): RelaxedBodyHasher {
    const sink = Array.isArray(this.sink) ? [...this.sink] : this.sink.copy();
    return new RelaxedBodyHasher(sink, { ...this.state });
  }

  /** Feeds raw body bytes. */
  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const state = this.state;
    let start = 0;
    if (state.hasPendingCr) {
      state.hasPendingCr = false;
      if (chunk[0] === LF) {
        this.endLine();
        start = 1;
      } else {
        this.writeLineText('\r');
      }
    }
    const text = chunk.toString('latin1');
    let end = text.length;
    if (text.charCodeAt(end - 1) === CR) {
      end -= 1;
      state.hasPendingCr = true;
    }
    while (start <= end) {
      const lineEnd = text.indexOf('\r\n', start);
      if (lineEnd === -1 || lineEnd >= end) {
        if (start < end) this.writeLineText(text.slice(start, end));
        break;
      }
      if (lineEnd > start) this.writeLineText(text.slice(start, lineEnd));
      this.endLine();
      start = lineEnd + 2;
    }
  }

  /** Feeds a piece canonicalized ahead of time: its output is spliced in, without canonicalizing it again. */
  writeCanonical(piece: CanonicalPiece): void {
    const state = this.state;
    if (state.hasPendingSpace || state.hasPendingCr) {
      this.write(piece.raw);
      return;
    }
    const { after } = piece;
    if (piece.output.length === 0) {
      state.hasPendingSpace = after.hasPendingSpace;
      state.hasPendingCr = after.hasPendingCr;
      state.pendingLineEnds += after.pendingLineEnds;
      return;
    }
    this.flushLineEnds();
    this.emit(piece.output);
    this.state = { ...after, hasContent: true };
  }

  /** SHA-256 of the canonical body; the hasher is spent. */
  digest(): Buffer {
    this.finish();
    return (this.sink as Hash).digest();
  }

  private finish(): void {
    const state = this.state;
    if (state.hasPendingCr) {
      state.hasPendingCr = false;
      this.writeLineText('\r');
    }
    // Whitespace ending a last line that has no CRLF stays (as one SP), as dkimpy has it: it ends no line.
    if (state.hasPendingSpace) {
      state.hasPendingSpace = false;
      this.flushLineEnds();
      this.emit(Buffer.from(' ', 'latin1'));
      state.hasContent = true;
    }
    if (state.hasContent) this.emit(CRLF);
  }

  /** Text within one line (no CRLF in it). */
  private writeLineText(text: string): void {
    const state = this.state;
    let line = text.replace(/[ \t]+/g, ' ');
    if (state.hasPendingSpace && line.charCodeAt(0) !== 0x20) line = ` ${line}`;
    else if (state.hasPendingSpace && line.length === 1) return;
    state.hasPendingSpace = line.charCodeAt(line.length - 1) === 0x20;
    if (state.hasPendingSpace) line = line.slice(0, -1);
    if (line === '') return;
    this.flushLineEnds();
    this.emit(Buffer.from(line, 'latin1'));
    state.hasContent = true;
  }

  private endLine(): void {
    this.state.hasPendingSpace = false;
    this.state.pendingLineEnds += 1;
  }

  private flushLineEnds(): void {
    for (; this.state.pendingLineEnds > 0; this.state.pendingLineEnds -= 1) this.emit(CRLF);
  }

  private emit(bytes: Buffer): void {
    if (Array.isArray(this.sink)) this.sink.push(bytes);
    else this.sink.update(bytes);
  }
}

function freshState(): CanonicalState {
  return { hasPendingSpace: false, pendingLineEnds: 0, hasPendingCr: false, hasContent: false };
}

/** SHA-256 of the relaxed canonical form of a body given in pieces. */
export function relaxedBodyHash(chunks: readonly Buffer[]): Buffer {
  const hasher = RelaxedBodyHasher.create();
  for (const chunk of chunks) hasher.write(chunk);
  return hasher.digest();
}

/** A message split at the empty line: its header block (ending in CRLF) and its body in pieces. */
export interface SplitMessage {
  header: Buffer;
  body: Buffer[];
}

/** Splits a message given in pieces at the first empty line (the body may be empty). */
export function splitMessage(chunks: readonly Buffer[]): SplitMessage {
  const head: Buffer[] = [];
  let headLength = 0;
  let tail = Buffer.alloc(0);
  for (let i = 0; i < chunks.length; i += 1) {
    const chunk = chunks[i] as Buffer;
    // The last bytes before this piece and its first three: an empty line across two pieces is found too.
    const across = Buffer.concat([tail, chunk.subarray(0, 3)]).indexOf(HEADER_END);
    const at = across !== -1 ? across - tail.length : chunk.indexOf(HEADER_END);
    if (at !== -1 || across !== -1) {
      // The header block ends after the first CRLF of the empty line (possibly in an earlier piece: cut < 0).
      const cut = at + 2;
      const header = Buffer.concat([...head, chunk.subarray(0, Math.max(cut, 0))]).subarray(0, headLength + cut);
      return { header, body: [chunk.subarray(cut + 2), ...chunks.slice(i + 1)] };
    }
    head.push(chunk);
    headLength += chunk.length;
    tail = Buffer.concat([tail, chunk]).subarray(-3);
  }
  return { header: Buffer.concat(head), body: [] };
}

/** One header field as it is in the message: its name and its whole text (folded lines, no final CRLF). */
interface HeaderField {
  name: string;
  text: string;
}

function parseHeaderFields(header: Buffer): HeaderField[] {
  const fields: HeaderField[] = [];
  for (const line of header.toString('latin1').split('\r\n')) {
    if (line === '') continue;
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) {
      last.text += `\r\n${line}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    fields.push({ name: line.slice(0, colon).trim().toLowerCase(), text: line });
  }
  return fields;
}

/** A header field canonicalized the relaxed way (RFC 6376 §3.4.2), without its CRLF. */
export function canonicalizeRelaxedHeader(text: string): string {
  const colon = text.indexOf(':');
  const name = text.slice(0, colon).trim().toLowerCase();
  const value = text
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** The header names to sign (`h=`) and their canonical lines, in signing order (the last instance first). */
function selectHeaders(fields: readonly HeaderField[]): { names: string[]; canonical: string } {
  const names: string[] = [];
  let canonical = '';
  for (const wanted of DKIM_SIGNED_HEADERS) {
    const present = fields.filter((field) => field.name === wanted);
    for (let i = present.length - 1; i >= 0; i -= 1) {
      names.push(wanted);
      canonical += `${canonicalizeRelaxedHeader((present[i] as HeaderField).text)}\r\n`;
    }
  }
  // Over-signing: one `from` more than there are, which selects nothing now and fails a From added later.
  names.push('from');
  return { names, canonical };
}

function algorithmOf(key: KeyObject): DkimAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'rsa-sha256';
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  throw new Error(`a DKIM key must be RSA or Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}`);
}

/** Folds a tag list at its separators (`; ` and `:` in h=) and a long base64 value every 72 characters. */
function foldTags(tags: readonly string[]): string {
  let out = 'DKIM-Signature:';
  let lineLength = out.length;
  for (const [index, tag] of tags.entries()) {
    const separator = index === tags.length - 1 ? '' : ';';
    const parts = tag.startsWith('h=') ? tag.split(/(?=:)/) : [tag];
    for (const [partIndex, part] of parts.entries()) {
      const text = part + (partIndex === parts.length - 1 ? separator : '');
      const lead = partIndex === 0 ? ' ' : '';
      if (lineLength + lead.length + text.length > 76) {
        out += `\r\n ${text}`;
        lineLength = 1 + text.length;
      } else {
        out += lead + text;
        lineLength += lead.length + text.length;
      }
    }
  }
  return out;
}

/** Splits a base64 value into lines of 72 after `b=` (folding whitespace inside b= is ignored by verifiers). */
function foldSignature(unsigned: string, signature: string): string {
  const lines = signature.match(/.{1,72}/g) ?? [''];
  return `${unsigned}\r\n ${lines.join('\r\n ')}`;
}

/** Input of `signDkim`. */
export interface SignDkimInput {
  /** The message's header block, ending in CRLF (without the empty line). */
  header: Buffer;
  /** SHA-256 of the relaxed canonical body (`relaxedBodyHash`, or the composer's cheaper equal). */
  bodyHash: Buffer;
  /** The keys, one signature each, in this order from the top of the message. */
  keys: readonly DkimKey[];
  /** The signature time (`t=`). */
  now: Date;
}

/**
 * Signs a message's header block with each key; resolves to the `DKIM-Signature` header lines (CRLF-terminated) to
 * put on top of the message, in the order of `keys`. Each signature covers the headers of `DKIM_SIGNED_HEADERS`
 * present and the body hash; none covers another signature. The private-key operations (an RSA-2048 signature is most
 * of the cost) run on libuv's thread pool, so the event loop keeps sending other messages meanwhile.
 */
export async function signDkim(input: SignDkimInput): Promise<Buffer> {
  const { names, canonical } = selectHeaders(parseHeaderFields(input.header));
  const bodyHash = input.bodyHash.toString('base64');
  const timestamp = Math.floor(input.now.getTime() / 1000);
  const lines: string[] = [];
  for (const key of input.keys) {
    const algorithm = algorithmOf(key.privateKey);
    const unsigned = foldTags([
      'v=1',
      `a=${algorithm}`,
      'c=relaxed/relaxed',
      `d=${key.domain}`,
      `s=${key.selector}`,
      `t=${timestamp}`,
      `h=${names.join(':')}`,
      `bh=${bodyHash}`,
      'b=',
    ]);
    const data = Buffer.from(canonical + canonicalizeRelaxedHeader(unsigned), 'latin1');
    // RFC 8463: Ed25519 signs the SHA-256 of the data (PureEdDSA over the hash), RSA the data with SHA-256.
    const signature =
      algorithm === 'rsa-sha256'
        ? await signOffThread('sha256', data, key.privateKey)
        : await signOffThread(null, createHash('sha256').update(data).digest(), key.privateKey);
    lines.push(`${foldSignature(unsigned, signature.toString('base64'))}\r\n`);
  }
  return Buffer.from(lines.join(''), 'latin1');
}

/**
 * Signs a message given in pieces: the returned pieces are the signatures followed by the message unchanged. The body
 * hash is computed from the pieces unless the caller already knows it.
 */
export async function signMessageChunks(
  chunks: readonly Buffer[],
  keys: readonly DkimKey[],
  now: Date,
  knownBodyHash?: Buffer,
): Promise<Buffer[]> {
  const { header, body } = splitMessage(chunks);
  const bodyHash = knownBodyHash ?? relaxedBodyHash(body);
  return [await signDkim({ header, bodyHash, keys, now }), ...chunks];
}
