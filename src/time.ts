// Time zones without a library: the offset of a zone at an instant, from ICU's data through Intl. Used by the nightly schedule
// (SYNC_TIMEZONE) and by the development Shopify's search dates (the shop's time zone).

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
