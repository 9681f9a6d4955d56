// One customer, three wire shapes: Admin GraphQL objects (gids, Decimal and UnsignedInt64 as strings, UTC DateTimes),
// the REST resource (numeric ids, snake_case, shop-local timestamps) and the webhook payloads (REST-like, trimmed since
// 2025-01). Samples: /work/shared/shopify/samples/{rest,webhooks}.
import type { Address, CustomerRecord } from './generator.js';
import { tzOffsetMs } from '../../time.js';

export const gid = (type: string, id: number | string) => `gid://shopify/${type}/${id}`;

export function parseGid(value: string, type: string): number | null {
  const m = new RegExp(`^gid://shopify/${type}/(\\d+)(?:\\?.*)?$`).exec(value);
  return m ? Number(m[1]) : null;
}

/** Shopify's DateTime: UTC, second precision, `Z`. */
export function isoDateTime(ms: number | null): string | null {
  return ms === null ? null : new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** REST and webhook timestamps: the shop's local time with its offset ("2024-10-02T18:24:09+09:00"). */
export function localDateTime(ms: number | null, timeZone: string): string | null {
  if (ms === null) return null;
  const off = tzOffsetMs(timeZone, ms);
  const local = new Date(Math.floor(ms / 1000) * 1000 + off).toISOString().slice(0, 19);
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off) / 60000;
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** GraphQL Decimal as Shopify prints it: at least one fractional digit ("12800.0", "199.65"). */
export function graphqlDecimal(amount: string): string {
  return amount.includes('.') ? amount : `${amount}.0`;
}

function restMoney(amount: string): string {
  return Number(amount).toFixed(2);
}

export interface ShopInfo {
  domain: string;
  timeZone: string;
  currencyCode: string;
}

// ---------------------------------------------------------------------------------------------------------------- GraphQL

export interface PageOf<T> {
  items: T[];
  cursors: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
}

export function connection<T>(page: PageOf<T>, view: (item: T) => unknown) {
  const nodes = page.items.map(view);
  return {
    edges: nodes.map((node, i) => ({ cursor: page.cursors[i], node })),
    nodes,
    pageInfo: {
      hasNextPage: page.hasNextPage,
      hasPreviousPage: page.hasPreviousPage,
      startCursor: page.cursors[0] ?? null,
      endCursor: page.cursors[page.cursors.length - 1] ?? null,
    },
  };
}

interface ListArgs {
  first?: number | null;
  last?: number | null;
  after?: string | null;
  before?: string | null;
  reverse?: boolean | null;
}

/** Pagination over a small in-memory list (addresses, webhook subscriptions, bulk operations); cursors are positions. */
export function listPage<T>(all: T[], args: ListArgs): PageOf<T> {
  const list = args.reverse ? [...all].reverse() : all;
  const decode = (c: string | null | undefined) => {
    if (!c) return null;
    try {
      const v = JSON.parse(Buffer.from(c, 'base64').toString('utf8')) as { offset?: number };
      return typeof v.offset === 'number' ? v.offset : null;
    } catch {
      return null;
    }
  };
  let start = 0;
  let end = list.length;
  const a = decode(args.after);
  const b = decode(args.before);
  if (a !== null) start = a + 1;
  if (b !== null) end = Math.min(end, b);
  if (args.first != null) end = Math.min(end, start + args.first);
  else if (args.last != null) start = Math.max(start, end - args.last);
  const items = list.slice(start, end);
  return {
    items,
    cursors: items.map((_, i) => Buffer.from(JSON.stringify({ offset: start + i })).toString('base64')),
    hasPreviousPage: start > 0,
    hasNextPage: end < list.length,
  };
}

function displayName(c: CustomerRecord): string {
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ');
  return name || c.email || c.phone || '';
}

export function addressView(a: Address) {
  const lines = [a.company, a.address1, a.address2, [a.city, a.provinceCode?.replace(/^[A-Z]+-/, '') ?? a.province, a.zip].filter(Boolean).join(' '), a.country];
  return {
    __typename: 'MailingAddress',
    id: `${gid('MailingAddress', a.id)}?model_name=CustomerAddress`,
    address1: a.address1,
    address2: a.address2,
    city: a.city,
    company: a.company,
    country: a.country,
    countryCodeV2: a.countryCodeV2,
    countryCode: a.countryCodeV2,
    firstName: a.firstName,
    lastName: a.lastName,
    name: [a.firstName, a.lastName].filter(Boolean).join(' ') || null,
    phone: a.phone,
    province: a.province,
    provinceCode: a.provinceCode,
    zip: a.zip,
    formatted: ({ withName, withCompany }: { withName?: boolean; withCompany?: boolean }) =>
      [withName ? [a.firstName, a.lastName].filter(Boolean).join(' ') : null, ...lines.map((l, i) => (i === 0 && withCompany === false ? null : l))].filter(
        (l): l is string => !!l,
      ),
    formattedArea: [a.city, a.province, a.country].filter(Boolean).join(', ') || null,
    coordinatesValidated: false,
    latitude: null,
    longitude: null,
    timeZone: null,
    validationResultSummary: null,
  };
}

export function customerView(c: CustomerRecord, now: number) {
  const email = c.email;
  const em = c.emailMarketing;
  const sms = c.smsMarketing;
  const years = Math.max(0, (now - c.createdAt) / (365 * 86_400_000));
  return {
    __typename: 'Customer',
    id: gid('Customer', c.id),
    legacyResourceId: String(c.id),
    firstName: c.firstName,
    lastName: c.lastName,
    displayName: displayName(c),
    email,
    phone: c.phone,
    verifiedEmail: c.verifiedEmail,
    validEmailAddress: !!email,
    state: c.state,
    numberOfOrders: String(c.numberOfOrders),
    amountSpent: { amount: graphqlDecimal(c.amountSpent), currencyCode: c.currencyCode },
    tags: c.tags,
    note: c.note,
    locale: c.locale,
    taxExempt: c.taxExempt,
    taxExemptions: [],
    multipassIdentifier: null,
    canDelete: c.numberOfOrders === 0,
    dataSaleOptOut: false,
    hasTimelineComment: false,
    productSubscriberStatus: 'NEVER_SUBSCRIBED',
    companyContactProfiles: [],
    lifetimeDuration: years >= 1 ? `about ${Math.round(years)} year${Math.round(years) === 1 ? '' : 's'}` : 'less than a year',
    createdAt: isoDateTime(c.createdAt),
    updatedAt: isoDateTime(c.updatedAt),
    defaultEmailAddress: email
      ? {
          emailAddress: email,
          marketingState: em?.state ?? 'NOT_SUBSCRIBED',
          marketingOptInLevel: em?.optInLevel ?? null,
          marketingUpdatedAt: isoDateTime(em?.updatedAt ?? null),
          validFormat: /^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email),
          openTrackingLevel: 'UNKNOWN',
          sourceLocation: null,
          marketingUnsubscribeUrl: `https://example.invalid/unsubscribe?customer=${c.id}`,
          openTrackingUrl: `https://example.invalid/open-tracking?customer=${c.id}`,
        }
      : null,
    emailMarketingConsent: email
      ? { marketingState: em?.state ?? 'NOT_SUBSCRIBED', marketingOptInLevel: em?.optInLevel ?? null, consentUpdatedAt: isoDateTime(em?.updatedAt ?? null), sourceLocation: null }
      : null,
    defaultPhoneNumber: c.phone
      ? {
          phoneNumber: c.phone,
          marketingState: sms?.state ?? 'NOT_SUBSCRIBED',
          marketingOptInLevel: sms?.optInLevel ?? null,
          marketingUpdatedAt: isoDateTime(sms?.updatedAt ?? null),
          marketingCollectedFrom: sms?.collectedFrom ?? null,
          sourceLocation: null,
        }
      : null,
    smsMarketingConsent: c.phone
      ? {
          marketingState: sms?.state ?? 'NOT_SUBSCRIBED',
          marketingOptInLevel: sms?.optInLevel ?? 'UNKNOWN',
          consentUpdatedAt: isoDateTime(sms?.updatedAt ?? null),
          consentCollectedFrom: sms?.collectedFrom ?? null,
          sourceLocation: null,
        }
      : null,
    defaultAddress: c.addresses[0] ? addressView(c.addresses[0]) : null,
    addresses: ({ first }: { first?: number | null }) => c.addresses.slice(0, first ?? 250).map(addressView),
    addressesV2: (args: ListArgs) => connection(listPage(c.addresses, args), addressView),
    lastOrder: c.lastOrder ? { __typename: 'Order', id: gid('Order', c.lastOrder.id), legacyResourceId: String(c.lastOrder.id), name: c.lastOrder.name } : null,
    metafield: null,
    metafields: (args: ListArgs) => connection(listPage([], args), (x) => x),
  };
}

// ------------------------------------------------------------------------------------------------------------------- REST

function restAddress(a: Address, customerId: number, isDefault: boolean) {
  return {
    id: a.id,
    customer_id: customerId,
    first_name: a.firstName,
    last_name: a.lastName,
    company: a.company,
    address1: a.address1,
    address2: a.address2,
    city: a.city,
    province: a.province,
    country: a.country,
    zip: a.zip,
    phone: a.phone,
    name: [a.firstName, a.lastName].filter(Boolean).join(' '),
    province_code: a.provinceCode,
    country_code: a.countryCodeV2,
    country_name: a.country,
    default: isDefault,
  };
}

/** The REST Admin API customer (samples/rest/customers_2024-10_list_response.json), ids as JSON numbers as the live API sends them. */
export function restCustomer(c: CustomerRecord, shop: ShopInfo) {
  const tz = shop.timeZone;
  const addresses = c.addresses.map((a, i) => restAddress(a, c.id, i === 0));
  return {
    id: c.id,
    email: c.email,
    created_at: localDateTime(c.createdAt, tz),
    updated_at: localDateTime(c.updatedAt, tz),
    first_name: c.firstName,
    last_name: c.lastName,
    orders_count: c.numberOfOrders,
    state: c.state.toLowerCase(),
    total_spent: restMoney(c.amountSpent),
    last_order_id: c.lastOrder?.id ?? null,
    note: c.note,
    verified_email: c.verifiedEmail,
    multipass_identifier: null,
    tax_exempt: c.taxExempt,
    tags: c.tags.join(', '),
    last_order_name: c.lastOrder?.name ?? null,
    currency: c.currencyCode,
    phone: c.phone,
    addresses,
    tax_exemptions: [],
    email_marketing_consent: c.email
      ? {
          state: (c.emailMarketing?.state ?? 'NOT_SUBSCRIBED').toLowerCase(),
          opt_in_level: c.emailMarketing?.optInLevel?.toLowerCase() ?? null,
          consent_updated_at: localDateTime(c.emailMarketing?.updatedAt ?? null, tz),
        }
      : null,
    sms_marketing_consent: c.phone
      ? {
          state: (c.smsMarketing?.state ?? 'NOT_SUBSCRIBED').toLowerCase(),
          opt_in_level: c.smsMarketing?.optInLevel?.toLowerCase() ?? null,
          consent_updated_at: localDateTime(c.smsMarketing?.updatedAt ?? null, tz),
          consent_collected_from: c.smsMarketing?.collectedFrom ?? 'OTHER',
        }
      : null,
    admin_graphql_api_id: gid('Customer', c.id),
    default_address: addresses[0] ?? null,
  };
}

// --------------------------------------------------------------------------------------------------------------- webhooks

/** customers/create and customers/update since 2025-01: no tags, consent or order totals (dedicated topics carry those). */
export function webhookCustomer(c: CustomerRecord, shop: ShopInfo) {
  const rest = restCustomer(c, shop);
  return {
    id: rest.id,
    created_at: rest.created_at,
    updated_at: rest.updated_at,
    first_name: rest.first_name,
    last_name: rest.last_name,
    state: rest.state,
    note: rest.note,
    verified_email: rest.verified_email,
    multipass_identifier: null,
    tax_exempt: rest.tax_exempt,
    email: rest.email,
    phone: rest.phone,
    currency: rest.currency,
    addresses: rest.addresses,
    tax_exemptions: [],
    admin_graphql_api_id: rest.admin_graphql_api_id,
    default_address: rest.default_address,
  };
}

export function webhookCustomerDelete(id: number) {
  return { id, tax_exemptions: [], admin_graphql_api_id: gid('Customer', id) };
}

export function webhookPurchasingSummary(c: CustomerRecord, occurredAt: number) {
  return {
    customerId: gid('Customer', c.id),
    numberOfOrders: c.numberOfOrders,
    amountSpent: { amount: restMoney(c.amountSpent), currencyCode: c.currencyCode },
    lastOrderId: c.lastOrder ? gid('Order', c.lastOrder.id) : null,
    occurredAt: new Date(occurredAt).toISOString(),
  };
}

export function webhookEmailConsent(c: CustomerRecord, shop: ShopInfo) {
  return {
    customer_id: c.id,
    email_address: c.email,
    email_marketing_consent: {
      state: c.emailMarketing?.state.toLowerCase() ?? null,
      opt_in_level: c.emailMarketing?.optInLevel?.toLowerCase() ?? null,
      consent_updated_at: localDateTime(c.emailMarketing?.updatedAt ?? null, shop.timeZone),
    },
  };
}

export function webhookSmsConsent(c: CustomerRecord, shop: ShopInfo) {
  return {
    id: c.id,
    phone: c.phone,
    sms_marketing_consent: {
      state: c.smsMarketing?.state.toLowerCase() ?? null,
      opt_in_level: c.smsMarketing?.optInLevel?.toLowerCase() ?? null,
      consent_updated_at: localDateTime(c.smsMarketing?.updatedAt ?? null, shop.timeZone),
      consent_collected_from: (c.smsMarketing?.collectedFrom ?? 'OTHER').toLowerCase(),
    },
  };
}
