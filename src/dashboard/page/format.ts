const numberFormat = new Intl.NumberFormat('en');

export const count = (n: number) => numberFormat.format(n);

/** A rate per second with one decimal, or a dash before there are two snapshots to compare. */
export const rate = (perSecond: number | undefined) => (perSecond === undefined ? '–' : `${perSecond.toFixed(1)}/s`);

/** A time as ISO 8601 in UTC, to the second: unambiguous across the machines that look at it. */
export const time = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, 'Z');

/** A body as text: strings as they are, anything else as indented JSON. */
export const bodyText = (body: unknown) => (typeof body === 'string' ? body : JSON.stringify(body, null, 2));
