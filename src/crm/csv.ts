// Reading the CSV files brands bring from other tools: Excel in Japan saves Shift_JIS (cp932), newer tools UTF-8 with or
// without a BOM. The parser is a small RFC 4180 state machine instead of a library because the import must report every bad
// record with the line it starts on and go on with the next one — including after a quote that is never closed, which a
// streaming parser can only report at the end of the file.
import iconv from 'iconv-lite';

export type CsvEncoding = 'utf-8-bom' | 'utf-8' | 'shift_jis';

/** UTF-8 BOM → UTF-8; bytes that are valid UTF-8 → UTF-8; anything else is read as cp932 (Shift_JIS as Windows writes it). */
export function decodeCsv(buf: Buffer): { text: string; encoding: CsvEncoding } {
  if (buf.length >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) {
    return { text: buf.subarray(3).toString('utf8'), encoding: 'utf-8-bom' };
  }
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(buf), encoding: 'utf-8' };
  } catch {
    return { text: iconv.decode(buf, 'cp932'), encoding: 'shift_jis' };
  }
}

export type CsvRecord = { line: number; fields: string[]; error?: undefined } | { line: number; fields?: undefined; error: string };

/**
 * Splits text into records. Each record carries the (1-based) line it starts on. Quoted fields may hold commas, quotes ("") and
 * line breaks. A record with a stray character after a closing quote is reported and skipped to the end of its line; a quote
 * never closed is reported at its line and parsing resumes on the next line, so one bad line cannot swallow the file.
 * Blank lines are skipped.
 */
export function parseCsv(text: string): CsvRecord[] {
  const out: CsvRecord[] = [];
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const startLine = line;
    const startIndex = i;
    const fields: string[] = [];
    let field = '';
    let error: string | undefined;
    let endOfRecord = false;
    // a record: fields separated by commas, ended by a line break or the end of the text
    while (!endOfRecord) {
      if (text[i] === '"') {
        // quoted field
        i++;
        let closed = false;
        while (i < n) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\r' || c === '\n') {
            // keep the break inside the field as \n; count lines
            if (c === '\r' && text[i + 1] === '\n') i++;
            field += '\n';
            line++;
            i++;
            continue;
          }
          field += c;
          i++;
        }
        if (!closed) {
          error = 'quote';
          break;
        }
        const c = text[i];
        if (c !== undefined && c !== ',' && c !== '\r' && c !== '\n') {
          error = 'after-quote';
          break;
        }
      } else {
        while (i < n && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') field += text[i++];
      }
      fields.push(field);
      field = '';
      const c = text[i];
      if (c === ',') {
        i++;
      } else {
        if (c === '\r' && text[i + 1] === '\n') i++;
        if (c !== undefined) {
          i++;
          line++;
        }
        endOfRecord = true;
      }
    }
    // A quote error in a record that ran over several lines most likely comes from a quote never closed on its first line
    // (the "closing" quote found later belongs to another line): report that line and go on with the next.
    if (error === 'after-quote' && line > startLine) error = 'quote';
    if (error === 'quote') {
      out.push({ line: startLine, error: 'unclosed-quote' });
      // resume on the line after the one the record started on
      const nl = text.slice(startIndex).search(/\r\n|\r|\n/);
      if (nl < 0) break;
      i = startIndex + nl + (text.startsWith('\r\n', startIndex + nl) ? 2 : 1);
      line = startLine + 1;
      continue;
    }
    if (error === 'after-quote') {
      out.push({ line: startLine, error: 'stray-quote' });
      while (i < n && text[i] !== '\r' && text[i] !== '\n') i++;
      if (text[i] === '\r' && text[i + 1] === '\n') i++;
      if (i < n) {
        i++;
        line++;
      }
      continue;
    }
    if (fields.length === 1 && fields[0] === '') continue; // blank line
    out.push({ line: startLine, fields });
  }
  return out;
}
