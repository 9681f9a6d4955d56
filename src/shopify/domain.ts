// Store domains as operators paste them. Shopify's admin shows `https://admin.shopify.com/store/my-store/...`; older admins
// and app settings show `my-store.myshopify.com`. All of these mean the shop `my-store.myshopify.com`.
import { ShopifyCodes, ShopifyError } from './errors.js';

const HANDLE = /^[a-z0-9][a-z0-9-]{0,59}$/;

const HELP =
  'ストアドメインを入力してください。Shopify管理画面のURL「https://admin.shopify.com/store/」の後の部分' +
  '(例: my-store)か、「my-store.myshopify.com」の形式で入力できます。独自ドメイン(例: shop.example.jp)は使えません。';

export function normalizeStoreDomain(input: unknown): string {
  if (typeof input !== 'string' || !input.trim()) {
    throw new ShopifyError(ShopifyCodes.INVALID_STORE_DOMAIN, HELP);
  }
  let s = input.trim().toLowerCase();
  let handle: string | undefined;
  if (/^[a-z][a-z0-9+.-]*:\/\//.test(s) || s.startsWith('admin.shopify.com/')) {
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//.test(s) ? s : `https://${s}`);
    } catch {
      throw new ShopifyError(ShopifyCodes.INVALID_STORE_DOMAIN, HELP);
    }
    if (url.hostname === 'admin.shopify.com') {
      handle = /^\/store\/([^/?#]+)/.exec(url.pathname)?.[1];
    } else {
      s = url.hostname;
    }
  }
  if (handle === undefined) {
    s = s.replace(/\/.*$/, '');
    if (s.endsWith('.myshopify.com')) handle = s.slice(0, -'.myshopify.com'.length);
    else if (!s.includes('.')) handle = s;
  }
  if (!handle || !HANDLE.test(handle)) {
    throw new ShopifyError(ShopifyCodes.INVALID_STORE_DOMAIN, HELP, { input: String(input).slice(0, 200) });
  }
  return `${handle}.myshopify.com`;
}
