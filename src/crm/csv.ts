// Reading the CSV files brands bring from other tools: Excel in Japan saves Shift_JIS (cp932), newer tools UTF-8 with or
// without a BOM. The file arrives as a stream and is never held whole: bytes are cut into physical lines, decoded, and lines
// are joined into records only where a quoted field holds a line break.
//
// Why our own reader instead of a library: the import must report every bad record with the line it starts on and go on with
// the next line — including after a quote that is never closed, which a streaming CSV parser can only report at the end of
// the file (after swallowing every line up to it) or at its size limit (losing the lines it swallowed).
//
// Guarantees, whatever the input:
// - Linear time. Every physical line is scanned a bounded number of times: as the start of a record (and once more to collect
//   its fields), as the continuation of a quoted field (both results are kept while the line is pending), and once more when
//   a multi-line record it belongs to is accepted. Looking for the end of a quoted field never rescans lines already known to
//   stay inside quotes, so a file of lines that each open a quote costs no more than a file of good lines.
// - Bounded memory: a line longer than MAX_LINE_BYTES is reported and skipped without being kept; a quoted field may run over
//   at most MAX_RECORD_LINES lines and MAX_RECORD_CHARS characters, so at most that much is pending at once; the encoding is
//   decided from the first SNIFF_BYTES; bytes are decoded PIECE_BYTES at a time.
// - A quote never closed (the record would run past the end of the file, past the limits above, or into a line that cannot
//   continue it) is reported at the line it opened on, and reading resumes on the next line: a stray quote costs one line.
//
// Encoding: a UTF-8 BOM → UTF-8; otherwise the first SNIFF_BYTES are checked: valid UTF-8 → UTF-8, else cp932 (Shift_JIS as
// Windows writes it). The decision holds for the whole file; a later line that is not valid in that encoding is reported as
// that line's error ('invalid-encoding') and skipped — never decoded into replacement characters, never a failed import.
// Line breaks (\r\n, \n, \r) are single ASCII bytes that never occur inside a multi-byte character in UTF-8 or cp932, so the
// bytes are cut into lines before decoding.
import { isUtf8 } from 'node:buffer';
import iconv from 'iconv-lite';

/** A physical line longer than this (bytes, without its line break) is reported as 'line-too-long' and skipped. */
export const MAX_LINE_BYTES = 64 * 1024;
/** A record whose quoted field holds line breaks may span this many physical lines... */
export const MAX_RECORD_LINES = 100;
/** ...and this many characters in all (line breaks included); beyond either, its opening quote is reported as never closed. */
export const MAX_RECORD_CHARS = 64 * 1024;
/** The encoding is decided from this many bytes at the start of the file (or the whole file when shorter). */
export const SNIFF_BYTES = 1024 * 1024;

export type CsvEncoding = 'utf-8-bom' | 'utf-8' | 'shift_jis';

export type CsvErrorKind = 'unclosed-quote' | 'stray-quote' | 'line-too-long' | 'invalid-encoding';

export type CsvRecord = { line: number; fields: string[]; error?: undefined } | { line: number; fields?: undefined; error: CsvErrorKind };

/** UTF-8 BOM → UTF-8; bytes that are valid UTF-8 → UTF-8; anything else is read as cp932 (Shift_JIS as Windows writes it). */
export function sniffEncoding(head: Buffer, wholeFile: boolean): CsvEncoding {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return 'utf-8-bom';
  // a multi-byte character cut at the end of the sniffed bytes is not an error
  return isUtf8(wholeFile ? head : head.subarray(0, head.length - cutCharacter(head))) ? 'utf-8' : 'shift_jis';
}

/** How many bytes at the end of b are the beginning of a UTF-8 character cut short (0 when none). */
function cutCharacter(b: Buffer): number {
  for (let k = 1; k <= 3 && k <= b.length; k++) {
    const c = b[b.length - k]!;
    if (c >= 0x80 && c <= 0xbf) continue; // a continuation byte: its lead byte is further back
    const length = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 1;
    return length > k ? k : 0;
  }
  return 0;
}

/**
 * Reads a CSV file given in chunks: write() the chunks, end() after the last, and read() the records in between. Each read()
 * works through one piece of at most PIECE_BYTES of input and returns the records it completes (possibly none), or null when
 * it needs more input — or, after end(), when everything has been returned. So however large the chunks, the work and the
 * records of one read() stay bounded, and the caller may stop between any two.
 * Each record carries the (1-based) line it starts on. Quoted fields may hold commas, quotes ("") and line breaks (kept as
 * \n). Blank lines are skipped.
 */
export class CsvReader {
  /** Known once the first SNIFF_BYTES (or the whole file) have been written. */
  encoding: CsvEncoding | undefined;
  private queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private finished = false;
  /** The bytes of the line not yet ended (none kept once it is longer than MAX_LINE_BYTES). */
  private tail: Buffer[] = [];
  private tailBytes = 0;
  private tailTooLong = false;
  /** The last piece ended with \r: a \n starting the next piece belongs to the same line break. */
  private afterCR = false;
  private nextLine = 1;
  private readonly records = new RecordAssembler();

  write(chunk: Buffer): void {
    if (this.ended) throw new Error('CsvReader: write after end');
    if (chunk.length === 0) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
  }

  end(): void {
    this.ended = true;
  }

  read(): CsvRecord[] | null {
    if (this.encoding === undefined) {
      if (this.queued < SNIFF_BYTES && !this.ended) return null;
      this.decide();
    }
    const out: CsvRecord[] = [];
    const c = this.queue[0];
    if (c) {
      const piece = c.subarray(0, PIECE_BYTES);
      if (piece.length === c.length) this.queue.shift();
      else this.queue[0] = c.subarray(PIECE_BYTES);
      this.queued -= piece.length;
      this.piece(piece, out);
      return out;
    }
    if (!this.ended || this.finished) return null;
    this.finished = true;
    if (this.tailBytes > 0 || this.tailTooLong) this.line(this.takeTail(), out);
    this.records.end(out);
    return out;
  }

  private decide(): void {
    const head: Buffer[] = [];
    let size = 0;
    for (const c of this.queue) {
      if (size >= SNIFF_BYTES) break;
      head.push(c.subarray(0, SNIFF_BYTES - size));
      size += head.at(-1)!.length;
    }
    this.encoding = sniffEncoding(Buffer.concat(head), this.ended && size === this.queued);
    if (this.encoding === 'utf-8-bom') {
      let bom = 3;
      while (bom > 0) {
        const c = this.queue[0]!;
        const skip = Math.min(bom, c.length);
        if (skip === c.length) this.queue.shift();
        else this.queue[0] = c.subarray(skip);
        this.queued -= skip;
        bom -= skip;
      }
    }
  }

  /** The lines a piece ends: the one begun in earlier pieces, then the ones wholly inside it, decoded together. */
  private piece(b: Buffer, out: CsvRecord[]): void {
    let pos = 0;
    if (this.afterCR) {
      this.afterCR = false;
      if (b[0] === 0x0a) pos = 1;
    }
    const last = Math.max(b.lastIndexOf(0x0a), b.lastIndexOf(0x0d));
    if (last < pos) {
      this.keep(b.subarray(pos));
      return;
    }
    // a \r that ends the piece may be the first half of \r\n (a \r before a \n inside the piece is never the last break)
    if (last === b.length - 1 && b[last] === 0x0d) this.afterCR = true;
    if (this.tailBytes > 0 || this.tailTooLong) {
      const lf = b.indexOf(0x0a, pos);
      const cr = b.indexOf(0x0d, pos);
      const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
      this.keep(b.subarray(pos, end));
      this.line(this.takeTail(), out);
      pos = end + (b[end] === 0x0d && b[end + 1] === 0x0a ? 2 : 1);
    }
    if (pos <= last) this.lines(b.subarray(pos, last + 1), out);
    if (last + 1 < b.length) this.keep(b.subarray(last + 1));
  }

  /** Whole lines, each ended by its line break (lines inside one piece are never longer than MAX_LINE_BYTES). */
  private lines(region: Buffer, out: CsvRecord[]): void {
    const text = this.decode(region);
    if (text === null) {
      // some line is not valid in the file's encoding: find which, line by line
      forEachLine(region, (a, z) => this.line(region.subarray(a, z), out));
      return;
    }
    forEachLine(text, (a, z) => this.records.push(this.nextLine++, text.slice(a, z), undefined, out));
  }

  /** One line's bytes (null: too long), decoded on its own. */
  private line(bytes: Buffer | null, out: CsvRecord[]): void {
    const no = this.nextLine++;
    if (bytes === null) return this.records.push(no, null, 'line-too-long', out);
    const text = this.decode(bytes);
    this.records.push(no, text, text === null ? 'invalid-encoding' : undefined, out);
  }

  private decode(bytes: Buffer): string | null {
    if (this.encoding === 'shift_jis') {
      const text = iconv.decode(bytes, 'cp932');
      // cp932 maps no byte sequence to U+FFFD: it only appears where the bytes are not Shift_JIS
      return text.includes('\ufffd') ? null : text;
    }
    return isUtf8(bytes) ? bytes.toString('utf8') : null;
  }

  private keep(b: Buffer): void {
    if (this.tailTooLong || b.length === 0) return;
    if (this.tailBytes + b.length > MAX_LINE_BYTES) {
      this.tailTooLong = true;
      this.tail = [];
      this.tailBytes = 0;
      return;
    }
    this.tail.push(b);
    this.tailBytes += b.length;
  }

  private takeTail(): Buffer | null {
    const bytes = this.tailTooLong ? null : Buffer.concat(this.tail, this.tailBytes);
    this.tail = [];
    this.tailBytes = 0;
    this.tailTooLong = false;
    return bytes;
  }
}

/** Parses a whole string (tests, small inputs) with the same reader as the streaming import. */
export function parseCsv(text: string): CsvRecord[] {
  const reader = new CsvReader();
  reader.write(Buffer.from(text, 'utf8'));
  reader.end();
  const out: CsvRecord[] = [];
  for (let recs; (recs = reader.read()) !== null; ) out.push(...recs);
  return out;
}

/** Work is done in pieces of this many bytes (at most this much is decoded at once). */
const PIECE_BYTES = 4 * 1024;

/**
 * Calls fn(start, end) for each line of s (a string or bytes) that ends with a line break (\r\n, \n or \r); s ends with one.
 * The next \n and the next \r are each searched again only once passed: one pass however the lines end.
 */
function forEachLine(s: string | Buffer, fn: (start: number, end: number) => void): void {
  const LF = typeof s === 'string' ? '\n' : 0x0a;
  const CR = typeof s === 'string' ? '\r' : 0x0d;
  const n = s.length;
  let lf = -2;
  let cr = -2;
  let pos = 0;
  while (pos < n) {
    if (lf !== -1 && lf < pos) lf = (s as string).indexOf(LF as string, pos);
    if (cr !== -1 && cr < pos) cr = (s as string).indexOf(CR as string, pos);
    const end = lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
    if (end < 0) return;
    fn(pos, end);
    pos = end === cr && lf === end + 1 ? end + 2 : end + 1;
  }
}

type LineError = 'line-too-long' | 'invalid-encoding';

interface PendingLine {
  no: number;
  /** The line's text, or null with why it could not be read. */
  text: string | null;
  error?: LineError;
  /** Characters (with one for each line break) of the lines pushed before this one: lines i..j hold end(j) - offset(i). */
  offset: number;
  /** How this line ends when it starts a record (its fields are collected only when it is emitted). */
  start: ScanState | undefined;
  /** How this line ends when it starts inside a quoted field: still inside ('open'), record complete, or an error. */
  cont: ScanState | undefined;
}

/** Joins decoded lines into records; see the guarantees at the top of the file. */
class RecordAssembler {
  /** Lines from head on wait for the quoted field opened on the head line to be closed. */
  private q: PendingLine[] = [];
  private head = 0;
  /** Lines from head + 1 up to (not including) this index are known to stay inside a quoted field (their cont is 'open'). */
  private scanned = 0;
  private chars = 0;

  /** A line: its text, or null and why it cannot be read. */
  push(no: number, text: string | null, error: LineError | undefined, out: CsvRecord[]): void {
    if (this.head === this.q.length) {
      // nothing pending: most lines are records by themselves
      if (text === null) return void out.push({ line: no, error: error! });
      if (text === '') return;
      const s = scanStart(text);
      if (s.state !== 'open') return void this.emit(no, s, out);
      this.q.length = 0;
      this.head = 0;
      this.scanned = 0;
      this.q.push({ no, text, error: undefined, offset: this.chars, start: 'open', cont: undefined });
    } else {
      this.q.push({ no, text, error, offset: this.chars, start: undefined, cont: undefined });
    }
    this.chars += (text?.length ?? 0) + 1;
    this.drain(false, out);
  }

  end(out: CsvRecord[]): void {
    this.drain(true, out);
  }

  private emit(no: number, s: Scan, out: CsvRecord[]): void {
    if (s.state === 'stray') out.push({ line: no, error: 'stray-quote' });
    else if (s.state === 'complete' && !(s.fields.length === 1 && s.fields[0] === '')) out.push({ line: no, fields: s.fields });
  }

  private drain(final: boolean, out: CsvRecord[]): void {
    while (this.head < this.q.length) {
      const h = this.q[this.head]!;
      if (h.text === null) {
        out.push({ line: h.no, error: h.error! });
        this.pop(1);
        continue;
      }
      const state = (h.start ??= scan(h.text, false, null));
      if (state !== 'open') {
        this.emit(h.no, state === 'complete' ? scanStart(h.text) : STRAY, out);
        this.pop(1);
        continue;
      }
      // The head line leaves a quoted field open: find the first later line that does not stay inside it.
      const end = this.findEnd(final);
      if (end === 'wait') return;
      if (end === 'fail') {
        // Most likely a quote never closed on this line (a "closing" quote found later belongs to another line): report this
        // line, go on with the next.
        out.push({ line: h.no, error: 'unclosed-quote' });
        this.pop(1);
        continue;
      }
      let text = h.text;
      for (let j = this.head + 1; j <= end; j++) text += '\n' + this.q[j]!.text;
      const whole = scanStart(text);
      // the per-line states guarantee a complete record; anything else would be a bug here, reported rather than thrown
      if (whole.state === 'complete') out.push({ line: h.no, fields: whole.fields });
      else out.push({ line: h.no, error: 'unclosed-quote' });
      this.pop(end + 1 - this.head);
    }
  }

  /** The index of the line that completes the record opened at head, 'fail', or 'wait' for more lines. */
  private findEnd(final: boolean): number | 'fail' | 'wait' {
    let i = Math.max(this.head + 1, this.scanned);
    // lines head+1 .. i-1 stay inside quotes (known from an earlier search): they must fit the limits
    if (i - 1 > this.head && !this.fits(i - 1)) return 'fail';
    for (;;) {
      if (i - this.head + 1 > MAX_RECORD_LINES) return 'fail';
      if (i >= this.q.length) return final ? 'fail' : 'wait';
      if (!this.fits(i)) return 'fail';
      const p = this.q[i]!;
      const c = (p.cont ??= p.text === null ? 'stray' : scan(p.text, true, null));
      if (c !== 'open') return c === 'complete' ? i : 'fail';
      this.scanned = ++i;
    }
  }

  /** Whether a record of the lines head..j is within MAX_RECORD_LINES and MAX_RECORD_CHARS. */
  private fits(j: number): boolean {
    const last = this.q[j]!;
    return j - this.head + 1 <= MAX_RECORD_LINES && last.offset + (last.text?.length ?? 0) + 1 - this.q[this.head]!.offset <= MAX_RECORD_CHARS;
  }

  private pop(n: number): void {
    this.head += n;
    if (this.head === this.q.length) {
      this.q.length = 0;
      this.head = 0;
      this.scanned = 0;
    } else if (this.head >= 1024) {
      this.q.copyWithin(0, this.head);
      this.q.length -= this.head;
      this.scanned = Math.max(0, this.scanned - this.head);
      this.head = 0;
    }
  }
}

type ScanState = 'complete' | 'open' | 'stray';
type Scan = { state: 'complete'; fields: string[] } | { state: 'open' | 'stray'; fields?: undefined };

const OPEN: Scan = { state: 'open' };
const STRAY: Scan = { state: 'stray' };

/** A line read from the start of a record, with its fields when complete. */
function scanStart(s: string): Scan {
  const fields: string[] = [];
  const state = scan(s, false, fields);
  return state === 'complete' ? { state, fields } : state === 'open' ? OPEN : STRAY;
}

const QUOTE = 34;
const COMMA = 44;

/**
 * Reads one line (or the lines of a record joined with \n), starting at the start of a record or inside a quoted field.
 * 'complete': the record ends here; 'open': the text ends inside a quoted field; 'stray': something other than a comma follows
 * a closing quote. A quote inside an unquoted field is an ordinary character. Fields are pushed to `fields` when given.
 */
function scan(s: string, inQuote: boolean, fields: string[] | null): ScanState {
  const n = s.length;
  let i = 0;
  for (;;) {
    if (!inQuote) {
      if (s.charCodeAt(i) === QUOTE) {
        inQuote = true;
        i++;
      } else {
        let j = s.indexOf(',', i);
        if (j < 0) j = n;
        fields?.push(s.slice(i, j));
        if (j >= n) return 'complete';
        i = j + 1;
        continue;
      }
    }
    let field = '';
    for (;;) {
      const q = s.indexOf('"', i);
      if (q < 0) return 'open';
      if (fields) field += s.slice(i, q);
      if (s.charCodeAt(q + 1) === QUOTE) {
        if (fields) field += '"';
        i = q + 2;
        continue;
      }
      i = q + 1;
      break;
    }
    inQuote = false;
    fields?.push(field);
    if (i >= n) return 'complete';
    if (s.charCodeAt(i) !== COMMA) return 'stray';
    i++;
  }
}
