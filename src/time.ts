// Time zones without a library, from ICU's data through Intl: the offset of a zone at an instant (the nightly schedule's
// SYNC_TIMEZONE, the development Shopify's search dates), a calendar date in a zone (custom data dates, segments' "today"),
// and the Japanese date-time operators read. Asia/Tokyo is the brands' time zone.

export const TOKYO = 'Asia/Tokyo';

const formats = new Map<string, Intl.DateTimeFormat>();
/** Intl.DateTimeFormat is expensive to build and cheap to reuse. */
function format(locale: string, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale} ${JSON.stringify(options)}`;
  let f = formats.get(key);
  if (!f) formats.set(key, (f = new Intl.DateTimeFormat(locale, options)));
  return f;
}

/** 'YYYY-MM-DD': the calendar date of `at` in `timeZone`. */
export function calendarDate(at: Date, timeZone: string = TOKYO): string {
  return format('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

/** 'YYYY-MM-DDTHH:MM' in Asia/Tokyo, as a datetime-local input takes it. */
export function tokyoDateTimeInput(at: Date): string {
  return format('sv-SE', { timeZone: TOKYO, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
    .format(at)
    .replace(' ', 'T')
    .slice(0, 16);
}

/** 2026-11-28T03:00:00Z → 2026/11/28 12:00 (Asia/Tokyo); '' for null. */
export function formatDateTime(iso: string | null): string {
  if (!iso) return '';
  return format('ja-JP', { timeZone: TOKYO, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(new Date(iso));
}

/** The UTC offset of `timeZone` at the instant `at` (epoch ms), in ms (Asia/Tokyo: +9 h). */
export function tzOffsetMs(timeZone: string, at: number): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(new Date(at));
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const asUtc = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return asUtc - Math.floor(at / 1000) * 1000;
}
