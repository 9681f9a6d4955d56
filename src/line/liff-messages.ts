// What the email page says to the person holding the phone. The page and the routes answering its POST use these same words,
// so whichever side detects a problem, the user reads one consistent sentence.
import { LineCodes } from './errors.js';

export const liffMessages = {
  loading: '読み込んでいます…',
  sending: 'メールアドレスを確認しています…',
  success: 'メールアドレスを登録しました',
  registeredAs: '登録したメールアドレス：',
  successDetail: 'ご登録ありがとうございます。この画面は閉じていただいて大丈夫です。',
  noEmail: 'LINEにメールアドレスが登録されていないか、メールアドレスの提供が許可されませんでした。',
  noEmailHelp:
    'LINEアプリの［ホーム］→［設定］（歯車のアイコン）→［アカウント］→［メールアドレス］で、メールアドレスが登録されているかご確認ください。' +
    '登録したあとにこのページをもう一度開き、表示される確認画面でメールアドレスの提供を「許可する」にしてください。' +
    '以前に許可しなかった場合は、［設定］→［アカウント］→［連動アプリ］でこのサービスの連動を解除すると、もう一度確認画面が表示されます。',
  expired: '有効期限が切れました。もう一度このページを開いてください。',
  notFriend: '先に公式アカウントを友だち追加してください。',
  notFriendHelp: '友だち追加のあと、もう一度このページを開いてください。',
  outsideLine: 'このページはLINEアプリの中で開いてください。',
  outsideLineHelp: 'スマートフォンのLINEアプリで、公式アカウントのトーク画面にあるリンクから開いてください。',
  openInLine: 'LINEで開く',
  invalid: 'ログイン情報を確認できませんでした。お手数ですが、もう一度このページを開いてください。',
  unavailable: 'ただいま混み合っているか、通信できませんでした。少し時間をおいてから、もう一度お試しください。',
  notConfigured: 'このページは現在ご利用いただけません。お手数ですが、公式アカウントまでお問い合わせください。',
  failed: '登録できませんでした。少し時間をおいてから、もう一度お試しください。',
  retry: 'もう一度試す',
  close: '閉じる',
} as const;

export type LiffMessageKey = keyof typeof liffMessages;

/** The sentence for an error code the email routes may answer with. */
const byCode: Record<string, LiffMessageKey> = {
  [LineCodes.LIFF_TOKEN_EXPIRED]: 'expired',
  [LineCodes.LIFF_TOKEN_INVALID]: 'invalid',
  [LineCodes.LIFF_AUDIENCE_MISMATCH]: 'notConfigured',
  [LineCodes.LIFF_EMAIL_MISSING]: 'noEmail',
  [LineCodes.LIFF_NOT_FRIEND]: 'notFriend',
  [LineCodes.LINE_UNAVAILABLE]: 'unavailable',
  [LineCodes.LINE_RATE_LIMITED]: 'unavailable',
  RATE_LIMITED: 'unavailable',
  DATABASE_UNAVAILABLE: 'unavailable',
  NOT_FOUND: 'notConfigured',
};

export function liffMessageKeyForCode(code: string): LiffMessageKey {
  return byCode[code] ?? 'failed';
}

/** The Japanese sentence for an error code, for the `message` of the route's error answer. */
export function liffMessageForCode(code: string): string {
  return liffMessages[liffMessageKeyForCode(code)];
}

/** Codes mapped to message keys, embedded in the page so it can word the server's answer itself. */
export const liffCodeMessageKeys: Readonly<Record<string, LiffMessageKey>> = byCode;
